/**
 * Reading and writing the safetensors format (an 8-byte little-endian header length, a JSON header,
 * then the raw little-endian tensor bytes). F16 and BF16 are widened to float32 on reading (and can be
 * written from float32, rounded: `TensorToWrite.dtype`); F32, F64, I64 and I32 keep their own type.
 * Sharded models (`model.safetensors.index.json`) load through {@linkcode loadModelWeights}.
 * @module
 */
import { basename, join } from "node:path";
import { pathExists, UserError, writeFileAtomic } from "../util/mod.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";

/** The dtypes this module reads. */
export type SafetensorsDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32";

/** Tensor data in memory: float32 for F32/F16/BF16, float64 for F64, int64 and int32 as themselves. */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array;

/** One tensor read from a safetensors file. `dtype` is the dtype on disk. */
export interface SafeTensor {
  /** The dtype stored in the file (F16/BF16 data arrive widened to float32). */
  dtype: SafetensorsDtype;
  /** The shape, outermost first. */
  shape: number[];
  /** The values, row-major. */
  data: TensorData;
}

/** One header entry: what the file says about a tensor. */
export interface SafetensorsEntry {
  /** The dtype name as written in the file (may be one this module cannot convert, e.g. "F8_E4M3"). */
  dtype: string;
  /** The shape. */
  shape: number[];
  /** Byte range [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number];
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** Tensor entries by name, in file order. */
  tensors: Map<string, SafetensorsEntry>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
  /** Size of the data section in bytes. */
  dataLength: number;
}

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const SUPPORTED: readonly string[] = ["F32", "F16", "BF16", "F64", "I64", "I32"];

function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Parses and validates the header bytes of `path`; `fileSize` is the whole file's size. */
function parseHeader(path: string, head: Uint8Array, fileSize: number): SafetensorsHeader {
  if (fileSize < 8) throw new UserError(`${path}: not a safetensors file (only ${fileSize} bytes)`);
  const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  if (n > fileSize - 8) {
    throw new UserError(`${path}: header length ${n} is beyond the file size ${fileSize}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(8, 8 + n)));
  } catch (e) {
    throw new UserError(`${path}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    throw new UserError(`${path}: header is not a JSON object`);
  }
  const dataStart = 8 + n;
  const dataLength = fileSize - dataStart;
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
        throw new UserError(`${path}: "__metadata__" is not a JSON object`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== "object" || typeof e.dtype !== "string") {
      throw new UserError(`${path}: tensor "${name}" has no dtype`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new UserError(`${path}: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    const off = e.data_offsets;
    if (
      !Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isInteger(x) && x >= 0) ||
      off[0] > off[1] || off[1] > dataLength
    ) {
      throw new UserError(
        `${path}: tensor "${name}" data_offsets ${
          JSON.stringify(off)
        } out of range (data section is ${dataLength} bytes)`,
      );
    }
    const size = DTYPE_BYTES[e.dtype];
    if (size !== undefined && off[1] - off[0] !== product(shape) * size) {
      throw new UserError(
        `${path}: tensor "${name}" has ${off[1] - off[0]} bytes but shape ${
          JSON.stringify(shape)
        } of ${e.dtype} needs ${product(shape) * size}`,
      );
    }
    tensors.set(name, { dtype: e.dtype, shape: shape as number[], dataOffsets: [off[0], off[1]] });
  }
  return { tensors, metadata, dataStart, dataLength };
}

async function statSize(path: string): Promise<number> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) throw new UserError(`${path}: not a file`);
    return st.size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${path}: safetensors file not found`);
    throw e;
  }
}

/** Reads only the header of the safetensors file at `path` (a few kilobytes, however big the file). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const size = await statSize(path);
  const f = await Deno.open(path, { read: true });
  try {
    const head8 = new Uint8Array(8);
    if (size >= 8) await readFull(f, head8);
    const n = size >= 8 ? Number(new DataView(head8.buffer).getBigUint64(0, true)) : 0;
    if (size < 8 || n > size - 8) return parseHeader(path, head8, size);
    const head = new Uint8Array(8 + n);
    head.set(head8);
    await readFull(f, head.subarray(8));
    return parseHeader(path, head, size);
  } finally {
    f.close();
  }
}

async function readFull(f: Deno.FsFile, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const got = await f.read(buf.subarray(off));
    if (got === null) throw new Error("unexpected end of file");
    off += got;
  }
}

/** The tensor `e` from its own bytes `own` (a fresh, aligned buffer holding exactly its data). */
function convert(path: string, name: string, e: SafetensorsEntry, own: ArrayBuffer): TensorData {
  switch (e.dtype) {
    case "F32":
      return new Float32Array(own);
    case "F64":
      return new Float64Array(own);
    case "I64":
      return new BigInt64Array(own);
    case "I32":
      return new Int32Array(own);
    case "F16":
      return f16ToF32(new Uint16Array(own));
    case "BF16":
      return bf16ToF32(new Uint16Array(own));
    default:
      throw new UserError(
        `${path}: tensor "${name}" has unsupported dtype ${e.dtype} (supported: ${SUPPORTED.join(", ")})`,
      );
  }
}

/**
 * The values of a float tensor as float32 (F32/F16/BF16 data as they are, F64 narrowed); an
 * integer tensor throws a {@linkcode UserError} naming `name`.
 */
export function toFloat32(t: SafeTensor, name = "tensor"): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  throw new UserError(`${name} has dtype ${t.dtype}, expected a float tensor`);
}

/** Options of {@linkcode readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Keep only the tensors whose name passes (others are not converted). */
  filter?: (name: string) => boolean;
}

/**
 * Reads every tensor of the safetensors file at `path`, each straight from the file into its own buffer (no
 * copy of the whole file is ever held: loading a model needs its weights' memory and one tensor more).
 * F16/BF16 become float32; a corrupt file or an unsupported dtype throws a {@linkcode UserError} naming the
 * file.
 */
export async function readSafetensors(
  path: string,
  options: ReadSafetensorsOptions = {},
): Promise<Map<string, SafeTensor>> {
  const header = await readSafetensorsHeader(path);
  const out = new Map<string, SafeTensor>();
  const f = await Deno.open(path, { read: true });
  try {
    for (const [name, e] of header.tensors) {
      if (options.filter && !options.filter(name)) continue;
      if (!SUPPORTED.includes(e.dtype)) convert(path, name, e, new ArrayBuffer(0)); // throws, naming it
      const own = new Uint8Array(e.dataOffsets[1] - e.dataOffsets[0]);
      await f.seek(header.dataStart + e.dataOffsets[0], Deno.SeekMode.Start);
      try {
        await readFull(f, own);
      } catch {
        throw new UserError(`${path}: tensor "${name}" is cut short (the file ends inside its data)`);
      }
      out.set(name, {
        dtype: e.dtype as SafetensorsDtype,
        shape: [...e.shape],
        data: convert(path, name, e, own.buffer),
      });
    }
  } finally {
    f.close();
  }
  return out;
}

/** A tensor to write: its shape and data (Float32Array → F32, Float64Array → F64, BigInt64Array → I64, Int32Array → I32). */
export interface TensorToWrite {
  /** The shape. */
  shape: number[];
  /** The values, row-major; length must equal the product of `shape`. */
  data: TensorData;
  /**
   * The dtype to store. "F16" and "BF16" narrow float32 data (rounded to nearest even), as half-precision
   * checkpoints are stored; any other value must be the data's own type. Absent: the data's type. So tensors
   * read by {@linkcode readSafetensors} write back as they were.
   */
  dtype?: SafetensorsDtype;
}

/** Options of {@linkcode writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /** String metadata stored under `__metadata__` (e.g. `{ format: "pt" }`). */
  metadata?: Record<string, string>;
}

function dtypeOf(data: TensorData): SafetensorsDtype {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof BigInt64Array) return "I64";
  if (data instanceof Int32Array) return "I32";
  throw new UserError(`unsupported tensor data type ${(data as object).constructor?.name}`);
}

/**
 * Encodes tensors (in iteration order) as safetensors bytes: header padded with spaces to a multiple
 * of 8, data contiguous.
 */
export function encodeSafetensors(
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  options: WriteSafetensorsOptions = {},
): Uint8Array<ArrayBuffer> {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (options.metadata) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== "string") throw new UserError(`safetensors metadata "${k}" must be a string`);
    }
    header.__metadata__ = options.metadata;
  }
  let off = 0;
  const stored: ArrayBufferView[] = [];
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new UserError(`"__metadata__" is not a valid tensor name`);
    let dtype = dtypeOf(t.data);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || product(t.shape) !== t.data.length) {
      throw new UserError(
        `tensor "${name}": shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`,
      );
    }
    let data: ArrayBufferView = t.data;
    if (t.dtype === "F16" || t.dtype === "BF16") {
      if (!(t.data instanceof Float32Array)) {
        throw new UserError(`tensor "${name}": ${t.dtype} needs float32 data`);
      }
      data = t.dtype === "F16" ? f32ToF16(t.data) : f32ToBf16(t.data);
      dtype = t.dtype;
    } else if (t.dtype && t.dtype !== dtype) {
      throw new UserError(`tensor "${name}": dtype ${t.dtype} does not match its ${dtype} data`);
    }
    stored.push(data);
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + data.byteLength] };
    off += data.byteLength;
  }
  let h = JSON.stringify(header);
  h += " ".repeat((8 - (new TextEncoder().encode(h).length % 8)) % 8);
  const hb = new TextEncoder().encode(h);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const d of stored) {
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** Writes tensors to `path` as safetensors, atomically (see {@linkcode encodeSafetensors}). */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, options));
}

/** Options of {@linkcode loadModelWeights}. */
export type LoadModelWeightsOptions = ReadSafetensorsOptions;

/**
 * Loads a model folder's weights: `model.safetensors`, or the shards listed in
 * `model.safetensors.index.json` (each shard read once; every listed tensor must be in its shard).
 */
export async function loadModelWeights(
  dir: string,
  options: LoadModelWeightsOptions = {},
): Promise<Map<string, SafeTensor>> {
  const single = join(dir, "model.safetensors");
  if (await pathExists(single)) return await readSafetensors(single, options);
  const indexPath = join(dir, "model.safetensors.index.json");
  if (!(await pathExists(indexPath))) {
    throw new UserError(`model folder ${dir} has neither model.safetensors nor model.safetensors.index.json`);
  }
  const weightMap = await readShardIndex(indexPath);
  const byShard = new Map<string, string[]>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (options.filter && !options.filter(name)) continue;
    byShard.set(file, [...(byShard.get(file) ?? []), name]);
  }
  const out = new Map<string, SafeTensor>();
  for (const [file, names] of byShard) {
    if (!(await pathExists(join(dir, file)))) {
      throw new UserError(
        `${indexPath}: shard ${file} is missing (it holds ${names.length} tensor(s), e.g. "${names[0]}")`,
      );
    }
    const wanted = new Set(names);
    const shard = await readSafetensors(join(dir, file), { filter: (n) => wanted.has(n) });
    for (const name of names) {
      const t = shard.get(name);
      if (!t) throw new UserError(`${indexPath}: tensor "${name}" is listed in ${file} but not stored there`);
      out.set(name, t);
    }
  }
  return out;
}

/** Reads and validates `model.safetensors.index.json`, returning its `weight_map` (tensor → shard file). */
export async function readShardIndex(indexPath: string): Promise<Record<string, string>> {
  let index: { weight_map?: unknown };
  try {
    index = JSON.parse(await Deno.readTextFile(indexPath));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${indexPath}: file not found`);
    throw new UserError(`${indexPath}: not valid JSON (${(e as Error).message})`);
  }
  const wm = index?.weight_map;
  if (!wm || typeof wm !== "object" || Array.isArray(wm)) {
    throw new UserError(`${indexPath}: missing "weight_map" object`);
  }
  for (const [name, file] of Object.entries(wm)) {
    if (typeof file !== "string" || file !== basename(file) || file.startsWith(".")) {
      throw new UserError(
        `${indexPath}: weight_map["${name}"] = ${JSON.stringify(file)} is not a shard file name`,
      );
    }
  }
  return wm as Record<string, string>;
}
