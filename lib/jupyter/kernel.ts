/**
 * A client for one Deno Jupyter kernel (`deno jupyter --kernel --conn <file>`), spoken to over
 * ZeroMQ exactly as Jupyter does: Dealer sockets for shell/control/stdin, a Subscriber for iopub,
 * HMAC-SHA256-signed messages. Starts the kernel process in a chosen folder, runs code, and shuts
 * it down (shutdown_request, then a kill if it does not leave).
 * @module
 */
import type * as zmq from "zeromq";
import { join } from "node:path";
import { decodeMessage, encodeMessage, type JupyterMessage, makeMessage } from "./wire.ts";
import {
  CellInterruptedError,
  CellTimeoutError,
  type ExecuteOptions,
  type ExecuteOutcome,
  freePorts,
  KernelDiedError,
  type KernelStartOptions,
  sleep,
  within,
} from "./kernel_support.ts";

export { CellInterruptedError, CellTimeoutError, KernelDiedError } from "./kernel_support.ts";
export type { ExecuteOptions, ExecuteOutcome, KernelStartOptions } from "./kernel_support.ts";

type Channel = "shell" | "control" | "stdin";
const STDERR_TAIL = 4000;
// zeromq (a native addon) is loaded on first use, so importing this folder's mod.ts from a notebook
// or a CLI that never starts a kernel does not load it.
let zmqLib: typeof zmq | undefined;
const MAX_POLL_MS = 25;

/** One running Deno kernel and the sockets to it. */
export class Kernel {
  readonly #key: string;
  readonly #session = crypto.randomUUID();
  readonly #proc: Deno.ChildProcess;
  readonly #dir: string;
  readonly #sockets: { shell: zmq.Dealer; control: zmq.Dealer; stdin: zmq.Dealer; iopub: zmq.Subscriber };
  readonly #replies = new Map<string, (m: JupyterMessage) => void>();
  readonly #iopub = new Map<string, (m: JupyterMessage) => void>();
  readonly #log: (line: string) => void;
  readonly #status: Promise<Deno.CommandStatus>;
  #exit: Deno.CommandStatus | null = null;
  #stderrTail = "";
  #closed = false;
  #stopping = false;
  #lastIopub = 0;
  #loops: Promise<void>[] = [];
  #pumps: Promise<void>[] = [];

  private constructor(
    proc: Deno.ChildProcess,
    dir: string,
    key: string,
    ports: Record<string, number>,
    log: (line: string) => void,
  ) {
    this.#proc = proc;
    this.#dir = dir;
    this.#key = key;
    this.#log = log;
    this.#status = proc.status.then((s) => (this.#exit = s));
    const url = (p: number) => `tcp://127.0.0.1:${p}`;
    const opts = { linger: 0, receiveTimeout: 0, sendTimeout: 0 };
    this.#sockets = {
      shell: new zmqLib!.Dealer(opts),
      control: new zmqLib!.Dealer(opts),
      stdin: new zmqLib!.Dealer(opts),
      iopub: new zmqLib!.Subscriber({ linger: 0, receiveTimeout: 0 }),
    };
    this.#sockets.shell.connect(url(ports.shell_port));
    this.#sockets.control.connect(url(ports.control_port));
    this.#sockets.stdin.connect(url(ports.stdin_port));
    this.#sockets.iopub.connect(url(ports.iopub_port));
    this.#sockets.iopub.subscribe();
    this.#loops = [
      this.#readLoop(this.#sockets.shell, (m) => this.#onReply(m)),
      this.#readLoop(this.#sockets.control, (m) => this.#onReply(m)),
      this.#readLoop(this.#sockets.stdin, (m) => this.#onStdin(m)),
      this.#readLoop(this.#sockets.iopub, (m) => {
        this.#lastIopub = performance.now();
        this.#iopub.get(m.parent_header.msg_id ?? "")?.(m);
      }),
    ];
    this.#pumps = [this.#pump(proc.stdout, false), this.#pump(proc.stderr, true)];
  }

  /** Starts a kernel and waits until it answers on shell and publishes on iopub. */
  static async start(options: KernelStartOptions = {}): Promise<Kernel> {
    zmqLib ??= await import("zeromq");
    const dir = await Deno.makeTempDir({ prefix: "nbrun-" });
    const [shell, iopub, stdin, control, hb] = freePorts(5);
    const key = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    const ports = {
      shell_port: shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
    };
    const conn = {
      ...ports,
      transport: "tcp",
      ip: "127.0.0.1",
      key,
      signature_scheme: "hmac-sha256",
      kernel_name: "deno",
    };
    const connFile = join(dir, "connection.json");
    await Deno.writeTextFile(connFile, JSON.stringify(conn));
    const proc = new Deno.Command(options.denoPath ?? Deno.execPath(), {
      args: ["jupyter", "--kernel", "--conn", connFile],
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let kernel: Kernel;
    try {
      kernel = new Kernel(proc, dir, key, ports, options.onLog ?? ((l) => console.error(l)));
    } catch (e) {
      proc.kill("SIGKILL");
      await proc.status;
      throw e;
    }
    try {
      await kernel.#waitReady(options.startupTimeoutMs ?? 30_000);
      // The Deno kernel outlives a parent that crashed or was killed; make it exit once orphaned.
      const watchdog = `{ const t = setInterval(() => { if (Deno.ppid !== ${Deno.pid}) { ` +
        `try { Deno.removeSync(${JSON.stringify(dir)}, { recursive: true }); } catch { /* gone */ } ` +
        `Deno.exit(1); } }, 1000); Deno.unrefTimer(t); }`;
      await kernel.execute(watchdog, { silent: true, timeoutMs: 10_000 });
    } catch (e) {
      await kernel.shutdown();
      throw e;
    }
    return kernel;
  }

  /** True once the kernel process has exited. */
  get exited(): boolean {
    return this.#exit !== null;
  }

  /** The last few thousand characters the kernel process wrote to its stderr. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let iopubSeen = false, replied = false;
    while (!(iopubSeen && replied)) {
      if (this.#exit) throw this.#diedError("while starting");
      if (Date.now() > deadline) {
        throw new Error(
          `Deno kernel did not become ready within ${timeoutMs / 1000}s` +
            (this.#stderrTail ? `; kernel stderr: ${this.#stderrTail.trim().slice(-500)}` : ""),
        );
      }
      const msg = makeMessage("kernel_info_request", {}, { session: this.#session });
      const id = msg.header.msg_id;
      this.#iopub.set(id, () => (iopubSeen = true));
      const reply = new Promise<void>((r) => this.#replies.set(id, () => r()));
      await this.#send("shell", msg);
      await within(Promise.race([reply.then(() => (replied = true)), this.#status]), 500);
      if (replied && !iopubSeen) await sleep(100);
      this.#replies.delete(id);
      this.#iopub.delete(id);
    }
  }

  /** Sends a request on `channel` and resolves with its reply (rejects on kernel exit or timeout). */
  async request(
    channel: "shell" | "control",
    msgType: string,
    options: { content?: Record<string, unknown>; timeoutMs?: number } = {},
  ): Promise<JupyterMessage> {
    const msg = makeMessage(msgType, options.content ?? {}, { session: this.#session });
    const reply = new Promise<JupyterMessage>((r) => this.#replies.set(msg.header.msg_id, r));
    try {
      await this.#send(channel, msg);
      return await this.#race(reply, options.timeoutMs, `${msgType}`);
    } finally {
      this.#replies.delete(msg.header.msg_id);
    }
  }

  /**
   * Runs `code` and resolves once the execute_reply and the iopub `idle` status for it came and
   * iopub has then been quiet for a moment. The Deno kernel sometimes publishes a cell's
   * execute_result just after its `idle` status, so `onIopub` stays subscribed for the life of the
   * kernel: anything that still arrives for this request (late results, output from timers the cell
   * started) reaches it, also while later cells run. Call {@linkcode Kernel.drain} before reading
   * the final outputs.
   */
  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteOutcome> {
    const msg = makeMessage("execute_request", {
      code,
      silent: options.silent ?? false,
      store_history: !options.silent,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    }, { session: this.#session });
    const id = msg.header.msg_id;
    let idle!: () => void;
    const idleP = new Promise<void>((r) => (idle = r));
    this.#iopub.set(id, (m) => {
      if (m.header.msg_type === "status") {
        if (m.content.execution_state === "idle") idle();
      } else options.onIopub?.(m);
    });
    const replyP = new Promise<JupyterMessage>((r) => this.#replies.set(id, r));
    try {
      await this.#send("shell", msg);
      const reply = await this.#race(replyP, options.timeoutMs, "cell", options.signal);
      const late = !(await within(Promise.race([idleP, this.#status]), 3000));
      if (late) this.#log("warning: no iopub idle status 3s after execute_reply; outputs may be incomplete");
      await this.drain();
      const c = reply.content;
      return {
        status: String(c.status ?? "unknown"),
        executionCount: typeof c.execution_count === "number" ? c.execution_count : null,
        reply: c,
      };
    } finally {
      this.#replies.delete(id);
    }
  }

  /** Waits until no iopub message has arrived for `quietMs` (default 50), at most `maxMs` (default 1000). */
  async drain(options: { quietMs?: number; maxMs?: number } = {}): Promise<void> {
    const quiet = options.quietMs ?? 50, until = performance.now() + (options.maxMs ?? 1000);
    while (!this.#exit) {
      const now = performance.now(), since = now - this.#lastIopub;
      if (since >= quiet || now >= until) return;
      await sleep(Math.min(quiet - since, until - now));
    }
  }

  /** Asks the kernel to shut down, kills it if it has not left after ~3 s, and closes all sockets. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    if (!this.#exit) {
      try {
        await this.request("control", "shutdown_request", { content: { restart: false }, timeoutMs: 2000 });
      } catch { /* killed below */ }
      const left = await within(this.#status, 1500);
      if (!left) {
        try {
          this.#proc.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await this.#status;
    }
    this.#closed = true;
    this.#stopping = true;
    await Promise.allSettled(this.#loops);
    for (const s of Object.values(this.#sockets)) s.close();
    // A process the notebook started may still hold the kernel's pipes open: do not wait on it forever.
    await within(Promise.allSettled(this.#pumps), 2000);
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #send(channel: Channel, msg: JupyterMessage): Promise<void> {
    const frames = encodeMessage(msg, this.#key);
    for (let wait = 1;; wait = Math.min(wait * 2, MAX_POLL_MS)) {
      try {
        return await this.#sockets[channel].send(frames);
      } catch (e) {
        // Non-blocking send (see #readLoop): EAGAIN means "not yet", anything else is real.
        if ((e as { code?: string }).code !== "EAGAIN" || this.#exit || this.#stopping) throw e;
        await sleep(wait);
      }
    }
  }

  async #race<T>(
    p: Promise<T>,
    timeoutMs: number | undefined,
    what: string,
    signal?: AbortSignal,
  ): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort = () => {};
    const limit = timeoutMs && timeoutMs > 0
      ? new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)))
      : new Promise<never>(() => {});
    const aborted = new Promise<"aborted">((r) => {
      onAbort = () => r("aborted");
      if (signal?.aborted) r("aborted");
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const got = await Promise.race([
        p.then((v) => ({ v })),
        this.#status.then(() => "died" as const),
        limit,
        aborted,
      ]);
      if (got === "died") throw this.#diedError(`while waiting for ${what}`);
      if (got === "timeout") {
        throw new CellTimeoutError(`${what} did not finish within ${timeoutMs! / 1000}s`);
      }
      if (got === "aborted") throw new CellInterruptedError(`${what} was interrupted`);
      return got.v;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #diedError(when: string): KernelDiedError {
    const s = this.#exit;
    const how = s ? (s.signal ? `signal ${s.signal}` : `exit code ${s.code}`) : "unknown status";
    const tail = this.#stderrTail.trim().split("\n").slice(-5).join(" | ").slice(-600);
    return new KernelDiedError(
      `the Deno kernel died (${how}) ${when}${tail ? `; kernel stderr: ${tail}` : ""}`,
    );
  }

  #onReply(m: JupyterMessage): void {
    this.#replies.get(m.parent_header.msg_id ?? "")?.(m);
  }

  #onStdin(m: JupyterMessage): void {
    if (m.header.msg_type !== "input_request") return;
    this.#log(`warning: the notebook asked for input (${JSON.stringify(m.content.prompt)}); answering ""`);
    const reply = makeMessage("input_reply", { value: "" }, { session: this.#session, parent: m.header });
    this.#send("stdin", reply).catch(() => {});
  }

  /**
   * Reads until shutdown by polling with non-blocking receives (receiveTimeout 0) and JS timers.
   * zeromq's own waiting relies on libuv poll/timer handles, and Deno's libuv shim can fire those
   * after they were stopped or closed (a segfault in zeromq's Poller); non-blocking calls never
   * start a handle, so closing the sockets afterwards is safe.
   */
  async #readLoop(sock: zmq.Dealer | zmq.Subscriber, handle: (m: JupyterMessage) => void): Promise<void> {
    let wait = 1;
    while (!this.#stopping) {
      let frames: Uint8Array[];
      try {
        frames = await sock.receive() as Uint8Array[];
        wait = 1;
      } catch (e) {
        if ((e as { code?: string }).code === "EAGAIN") {
          await sleep(wait);
          wait = Math.min(wait * 2, MAX_POLL_MS);
          continue;
        }
        if (!this.#stopping) this.#log(`warning: kernel socket failed: ${(e as Error).message}`);
        return;
      }
      let msg: JupyterMessage;
      try {
        msg = decodeMessage(frames, this.#key);
      } catch (e) {
        this.#log(`warning: dropped a kernel message: ${(e as Error).message}`);
        continue;
      }
      handle(msg);
    }
  }

  async #pump(stream: ReadableStream<Uint8Array>, isErr: boolean): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      const text = dec.decode(chunk, { stream: true });
      if (isErr) this.#stderrTail = (this.#stderrTail + text).slice(-STDERR_TAIL);
      for (const line of text.split("\n")) {
        if (line.trim() && !/"deno jupyter" is unstable/.test(line)) this.#log(`[kernel] ${line}`);
      }
    }
  }
}
