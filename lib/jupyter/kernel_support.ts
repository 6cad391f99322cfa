/**
 * What the kernel client shares with its callers and helpers: the errors a request can end with, the
 * options of starting a kernel and running code, and small timing helpers (free ports, sleep, a bounded wait).
 * @module
 */
import type { JupyterMessage } from "./wire.ts";

/** The kernel process exited while we were waiting on it. */
export class KernelDiedError extends Error {
  /** @param message what died and when, with the tail of the kernel's own stderr */
  constructor(message: string) {
    super(message);
    this.name = "KernelDiedError";
  }
}

/** A request (usually one cell) ran past its time limit. */
export class CellTimeoutError extends Error {
  /** @param message which request and the limit */
  constructor(message: string) {
    super(message);
    this.name = "CellTimeoutError";
  }
}

/** The wait for a request was aborted (e.g. Ctrl-C). */
export class CellInterruptedError extends Error {
  /** @param message what was interrupted */
  constructor(message: string) {
    super(message);
    this.name = "CellInterruptedError";
  }
}

/** Options of {@linkcode Kernel.start}. */
export interface KernelStartOptions {
  /** Working folder of the kernel (Jupyter uses the notebook's folder). Default: this process's. */
  cwd?: string;
  /** Give up when the kernel has not answered kernel_info within this many ms (default 30000). */
  startupTimeoutMs?: number;
  /** The `deno` binary (default: the one running this code). */
  denoPath?: string;
  /** Called with protocol warnings (bad signatures, late idle) and the kernel's own stdout/stderr. */
  onLog?: (line: string) => void;
}

/** Options of {@linkcode Kernel.execute}. */
export interface ExecuteOptions {
  /** Fail with {@linkcode CellTimeoutError} after this many ms (0 or absent: no limit). */
  timeoutMs?: number;
  /** Called for every iopub message caused by this request except `status`. */
  onIopub?: (msg: JupyterMessage) => void;
  /** Stop waiting (rejecting with {@linkcode CellInterruptedError}) when this aborts. */
  signal?: AbortSignal;
  /** Run without publishing outputs or counting it in the execution history. */
  silent?: boolean;
}

/** What `execute_reply` said. */
export interface ExecuteOutcome {
  /** `ok`, `error` or `aborted`. */
  status: string;
  /** The kernel's execution counter for this request (null when it gave none). */
  executionCount: number | null;
  /** The whole reply content. */
  reply: Record<string, unknown>;
}

/** `n` free local TCP ports (listened on and released). */
export function freePorts(n: number): number[] {
  const listeners = Array.from({ length: n }, () => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves `true` when `p` settles within `ms`, else `false`; never leaves a timer behind. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p.then(() => true, () => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
