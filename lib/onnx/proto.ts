/**
 * A small protobuf writer for the ONNX messages this project emits (ModelProto, GraphProto, NodeProto,
 * TensorProto, ValueInfoProto, AttributeProto). Field numbers follow onnx/onnx.proto3.
 * Large tensor payloads are never copied until the single final concatenation.
 * @module
 */

const enc = new TextEncoder();

/** Protobuf wire writer that collects chunks and their total length. */
export class Writer {
  chunks: Uint8Array[] = [];
  length = 0;
  #scratch: number[] = [];

  #flushScratch(): void {
    if (this.#scratch.length) {
      const b = Uint8Array.from(this.#scratch);
      this.chunks.push(b);
      this.length += b.length;
      this.#scratch = [];
    }
  }

  /** Writes a varint (non-negative, or negative int64 as two's complement). */
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    if (typeof v === "number" && v >= 0 && v < 2 ** 31) {
      let n = v;
      while (n >= 0x80) {
        this.#scratch.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      this.#scratch.push(n);
      return;
    }
    while (x >= 0x80n) {
      this.#scratch.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.#scratch.push(Number(x));
  }

  /** Field tag. wire: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** A varint field. */
  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  /** A float (fixed32) field. */
  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.#scratch.push(...b);
  }

  /** A length-delimited bytes field (the payload is referenced, not copied). */
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.#flushScratch();
    this.chunks.push(data);
    this.length += data.length;
  }

  /** A string field. */
  string(field: number, s: string): void {
    this.bytes(field, enc.encode(s));
  }

  /** An embedded message field. */
  message(field: number, sub: Writer): void {
    sub.#flushScratch();
    this.tag(field, 2);
    this.varint(sub.length);
    this.#flushScratch();
    this.chunks.push(...sub.chunks);
    this.length += sub.length;
  }

  /** Concatenates everything into one buffer. */
  finish(): Uint8Array {
    this.#flushScratch();
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

/** ONNX TensorProto.DataType codes. */
export const DATA_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
} as const;

/** A dimension: a fixed size or a symbolic name (ONNX dim_param). */
export type Dim = number | string;

/** Tensor element types this project uses. */
export type DType = keyof typeof DATA_TYPE;

/** An attribute value. */
export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | {
  tensor: TensorData;
};

/** Raw tensor data for an initializer or a tensor attribute. */
export interface TensorData {
  name: string;
  dtype: DType;
  dims: number[];
  /** Little-endian raw bytes. */
  raw: Uint8Array;
  /** When set, the data is stored in this external file at `offset` (ONNX external data). */
  external?: { location: string; offset: number };
}

/** A node as serialized. */
export interface NodeData {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attrs: Record<string, AttrValue>;
  /** Operator domain ("" = the ONNX default; "com.microsoft" for ONNX Runtime's contrib ops). */
  domain?: string;
}

/** A graph input/output declaration. */
export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[];
}

function tensorProto(t: TensorData): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, DATA_TYPE[t.dtype]);
  w.string(8, t.name);
  if (t.external) {
    const kv = (k: string, v: string) => {
      const e = new Writer();
      e.string(1, k);
      e.string(2, v);
      w.message(13, e);
    };
    kv("location", t.external.location);
    kv("offset", String(t.external.offset));
    kv("length", String(t.raw.length));
    w.int(14, 1);
  } else {
    w.bytes(9, t.raw);
  }
  return w;
}

function attrProto(name: string, v: AttrValue): Writer {
  const w = new Writer();
  w.string(1, name);
  if (typeof v === "number") {
    w.int(3, v);
    w.int(20, 2);
  } else if (typeof v === "string") {
    w.string(4, v);
    w.int(20, 3);
  } else if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    w.int(20, 7);
  } else if ("float" in v) {
    w.float(2, v.float);
    w.int(20, 1);
  } else if ("floats" in v) {
    for (const x of v.floats) w.float(7, x);
    w.int(20, 6);
  } else {
    w.message(5, tensorProto(v.tensor));
    w.int(20, 4);
  }
  return w;
}

function valueInfoProto(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === "number") dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tt = new Writer();
  tt.int(1, DATA_TYPE[v.dtype]);
  tt.message(2, shape);
  const type = new Writer();
  type.message(1, tt);
  const w = new Writer();
  w.string(1, v.name);
  w.message(2, type);
  return w;
}

/** Everything needed to serialize one ONNX model. */
export interface ModelData {
  name: string;
  opset: number;
  nodes: NodeData[];
  initializers: TensorData[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

/** Encodes a ModelProto (IR version 8). */
export function encodeModel(m: ModelData): Uint8Array {
  const g = new Writer();
  for (const n of m.nodes) {
    const nw = new Writer();
    for (const i of n.inputs) nw.string(1, i);
    for (const o of n.outputs) nw.string(2, o);
    nw.string(3, n.name);
    nw.string(4, n.opType);
    for (const [k, v] of Object.entries(n.attrs)) nw.message(5, attrProto(k, v));
    if (n.domain) nw.string(7, n.domain);
    g.message(1, nw);
  }
  g.string(2, m.name);
  for (const t of m.initializers) g.message(5, tensorProto(t));
  for (const v of m.inputs) g.message(11, valueInfoProto(v));
  for (const v of m.outputs) g.message(12, valueInfoProto(v));
  const model = new Writer();
  model.int(1, 8);
  model.string(2, "grpo-ts");
  const opset = new Writer();
  opset.string(1, "");
  opset.int(2, m.opset);
  model.message(8, opset);
  for (const d of new Set(m.nodes.map((n) => n.domain).filter((d): d is string => !!d))) {
    const extra = new Writer();
    extra.string(1, d);
    extra.int(2, 1);
    model.message(8, extra);
  }
  model.message(7, g);
  return model.finish();
}
