/**
 * One wrapper around `onnxruntime-node` sessions. `device: "auto"` tries the CUDA execution provider and falls
 * back to CPU, printing one notice per process; `"cuda"` fails loudly when CUDA is unavailable.
 * Models whose initializers exceed 2 GB are written with ONNX external data and loaded from disk.
 * @module
 */
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import type { Graph } from "./graph.ts";
import { notice, UserError } from "../util/mod.ts";

/** Where graphs run. */
export type Device = "auto" | "cuda" | "cpu";

/** The devices accepted by {@linkcode SessionOptions.device}. */
export const DEVICES: readonly Device[] = ["auto", "cuda", "cpu"];

/** Options for {@linkcode createSession}. */
export interface SessionOptions {
  /** "auto" (default): CUDA when it loads, else CPU with one notice. */
  device?: Device;
  /** Intra-op threads (default: ORT's choice, all cores). */
  threads?: number;
  /** Graph optimization level (default "all"). */
  optimization?: "disabled" | "basic" | "extended" | "all";
  /** Write an ORT profile (JSON) with this file prefix. */
  profilePrefix?: string;
  /**
   * Let MLAS pre-pack constant GEMM operands (default true: faster GEMMs, but one packed copy of a weight per
   * Gemm node that reads it: forward, backward and reference passes each pack their own).
   */
  prepack?: boolean;
  /** Keep ORT's CPU arena (default true); false returns activation memory to the system after each run. */
  memArena?: boolean;
  /**
   * ORT's memory pattern (default true): from the second run of a shape on, one block planned for all
   * intermediates. With the arena it comes on top of the blocks the first run left in the arena.
   */
  memPattern?: boolean;
}

/** A host tensor fed to or returned from a session. */
export type HostTensor = ort.Tensor;

/** Makes a float32 tensor. */
export function f32(data: Float32Array | number[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor("float32", data instanceof Float32Array ? data : Float32Array.from(data), dims);
}

/** Makes a float64 tensor. */
export function f64(data: Float64Array | number[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor("float64", data instanceof Float64Array ? data : Float64Array.from(data), dims);
}

/** Makes an int64 tensor from numbers. */
export function i64(data: BigInt64Array | number[], dims: readonly number[]): ort.Tensor {
  const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
  return new ort.Tensor("int64", arr, dims);
}

let cudaBroken: string | null = null;

/** A compiled graph ready to run. */
export class Session {
  readonly inner: ort.InferenceSession;
  /** The execution provider actually used. */
  readonly device: "cuda" | "cpu";
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  /** Use {@linkcode createSession}. */
  constructor(inner: ort.InferenceSession, device: "cuda" | "cpu") {
    this.inner = inner;
    this.device = device;
    this.inputNames = inner.inputNames;
    this.outputNames = inner.outputNames;
  }

  /**
   * Runs the graph; returns every output (or just `fetches`). `fetches` as an object binds outputs to
   * preallocated tensors (CPU: ORT writes into their memory; a tensor fed as an input too is updated in
   * place), `null` entries being allocated by ORT.
   */
  async run(
    feeds: Record<string, ort.Tensor>,
    fetches?: string[] | Record<string, ort.Tensor | null>,
  ): Promise<Record<string, ort.Tensor>> {
    for (const n of this.inputNames) {
      if (!(n in feeds)) throw new Error(`session: missing input ${n}`);
    }
    if (!fetches) return await this.inner.run(feeds);
    return Array.isArray(fetches)
      ? await this.inner.run(feeds, fetches)
      : await this.inner.run(feeds, fetches as ort.InferenceSession.FetchesType);
  }

  /** Ends profiling (when enabled) and returns the profile file name. */
  endProfiling(): string {
    return (this.inner as unknown as { endProfiling(): string }).endProfiling?.() ?? "";
  }

  /** Frees native memory. */
  async release(): Promise<void> {
    await this.inner.release();
  }
}

/** Graphs with this many bytes of initializers or more go to ONNX Runtime as a file plus external data. */
const EXTERNAL_ABOVE = 2 ** 31 - 2 ** 24;

async function modelSource(graph: Graph): Promise<{ src: Uint8Array | string; dir?: string }> {
  if (graph.initializerBytes() < EXTERNAL_ABOVE) return { src: graph.toBytes() };
  const dir = await Deno.makeTempDir({ prefix: "grpo-onnx-" });
  const dataName = "weights.bin";
  const file = await Deno.open(join(dir, dataName), { write: true, create: true });
  const pending: Uint8Array[] = [];
  const bytes = graph.toBytes({ external: { file: dataName, sink: (c) => pending.push(c) } });
  for (const c of pending) {
    let off = 0;
    while (off < c.length) off += await file.write(c.subarray(off));
  }
  file.close();
  const path = join(dir, "model.onnx");
  await Deno.writeFile(path, bytes);
  return { src: path, dir };
}

/** Compiles `graph` into a session on the requested device. */
export async function createSession(graph: Graph, options: SessionOptions = {}): Promise<Session> {
  const device = options.device ?? "auto";
  if (!DEVICES.includes(device)) {
    throw new UserError(`unknown device "${device}" (expected one of ${DEVICES.join(", ")})`);
  }
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: options.optimization ?? "all",
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    ...(options.profilePrefix ? { enableProfiling: true, profileFilePrefix: options.profilePrefix } : {}),
    ...(options.memArena === false ? { enableCpuMemArena: false } : {}),
    ...(options.memPattern === false ? { enableMemPattern: false } : {}),
    ...(options.prepack === false ? { extra: { session: { disable_prepacking: "1" } } } : {}),
  };
  const { src, dir } = await modelSource(graph);
  try {
    return await createFrom(src, device, base);
  } finally {
    // ORT has read (or mapped) the weights by now; the files are not needed again, and the serialized
    // model (a copy of every weight) is freed now rather than at the next garbage collection
    if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    else freeNow(src as Uint8Array);
  }
}

/**
 * Frees the memory behind `bytes` at once (detaching its buffer) instead of waiting for the garbage collector,
 * which may not run before the next large allocation. Only for buffers nothing else reads.
 */
function freeNow(bytes: Uint8Array): void {
  const buf = bytes.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer };
  try {
    buf.transfer?.(0);
  } catch { /* already detached or not transferable: the collector frees it */ }
}

async function createFrom(
  src: Uint8Array | string,
  device: Device,
  base: ort.InferenceSession.SessionOptions,
): Promise<Session> {
  const make = (eps: string[]) =>
    typeof src === "string"
      ? ort.InferenceSession.create(src, { ...base, executionProviders: eps })
      : ort.InferenceSession.create(src, { ...base, executionProviders: eps });
  if (device === "cpu" || (device === "auto" && cudaBroken)) return new Session(await make(["cpu"]), "cpu");
  // ORT logs the failed CUDA load itself at error level; our own one-line notice replaces it.
  const level = ort.env.logLevel;
  ort.env.logLevel = "fatal";
  try {
    return new Session(await make(["cuda"]), "cuda");
  } catch (e) {
    const msg = String((e as Error).message ?? e).split("\n")[0];
    if (device === "cuda") {
      throw new UserError(`device "cuda" requested but the CUDA execution provider failed to load: ${msg}`);
    }
    cudaBroken = msg;
    notice(`onnx: CUDA execution provider unavailable (${msg.slice(0, 160)}); running on CPU`);
    return new Session(await make(["cpu"]), "cpu");
  } finally {
    ort.env.logLevel = level;
  }
}
