/**
 * The graph builder: {@linkcode Graph} records ONNX nodes; {@linkcode Tensor} is a handle with a dtype and a
 * shape (numbers, or symbolic names for sizes known only at run time). Ops live in `ops.ts`; this file only
 * holds the graph state, constants, inputs/outputs and serialization.
 * @module
 */
import {
  type AttrValue,
  type Dim,
  type DType,
  encodeModel,
  type NodeData,
  type TensorData,
} from "./proto.ts";

export type { Dim, DType };

/** A recorded node, with handles to its input and output tensors. */
export interface Node {
  opType: string;
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: Record<string, AttrValue>;
  /** Operator domain (absent: ONNX's; "com.microsoft": ONNX Runtime's contrib ops, which have no VJP rules). */
  domain?: string;
}

/** A tensor in a graph: its name, element type and shape. */
export class Tensor {
  readonly graph: Graph;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Dim[];
  /** The node that produced it (undefined for inputs, initializers and constants). */
  producer?: Node;
  /** For constants: the JS value (used by autodiff and folding). */
  constValue?: Float64Array | number[];

  /** Use {@linkcode Graph} methods to make tensors. */
  constructor(graph: Graph, name: string, dtype: DType, shape: Dim[]) {
    this.graph = graph;
    this.name = name;
    this.dtype = dtype;
    this.shape = shape;
  }

  /** Rank (number of dimensions). */
  get rank(): number {
    return this.shape.length;
  }

  /** `[2,"B",3]` style description for error messages. */
  toString(): string {
    return `${this.name}:${this.dtype}[${this.shape.join(",")}]`;
  }
}

/** Typed arrays accepted for initializers. */
export type ArrayData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

function rawBytes(data: ArrayData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function toTyped(dtype: DType, values: number[]): ArrayData {
  switch (dtype) {
    case "float32":
      return Float32Array.from(values);
    case "float64":
      return Float64Array.from(values);
    case "int64":
      return BigInt64Array.from(values.map((v) => BigInt(v)));
    case "int32":
      return Int32Array.from(values);
    case "bool":
    case "uint8":
      return Uint8Array.from(values.map((v) => (v ? 1 : 0)));
    default:
      throw new Error(`constants of dtype ${dtype} are not supported`);
  }
}

/** An ONNX graph under construction. */
export class Graph {
  readonly name: string;
  readonly opset: number;
  nodes: Node[] = [];
  inputs: Tensor[] = [];
  outputs: Tensor[] = [];
  initializers = new Map<string, { tensor: Tensor; data: ArrayData; dims: number[] }>();
  #counter = 0;
  #constCache = new Map<string, Tensor>();

  /**
   * @param name the graph's name (shows in errors and profiles)
   * @param options `opset` (default 18; 23 for fused inference ops such as RMSNormalization)
   */
  constructor(name = "graph", options: { opset?: number } = {}) {
    this.name = name;
    this.opset = options.opset ?? 18;
  }

  /** A fresh unique tensor name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  /** Declares a graph input. */
  input(name: string, dtype: DType, shape: Dim[]): Tensor {
    const t = new Tensor(this, name, dtype, shape);
    this.inputs.push(t);
    return t;
  }

  /** Adds an initializer (a named weight stored in the model). */
  initializer(name: string, data: ArrayData, dims: number[]): Tensor {
    const dtype: DType = data instanceof Float32Array
      ? "float32"
      : data instanceof Float64Array
      ? "float64"
      : data instanceof BigInt64Array
      ? "int64"
      : data instanceof Int32Array
      ? "int32"
      : "uint8";
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`initializer ${name}: ${data.length} values for shape [${dims}]`);
    if (this.initializers.has(name)) throw new Error(`initializer ${name} defined twice`);
    const t = new Tensor(this, name, dtype, dims);
    this.initializers.set(name, { tensor: t, data, dims });
    return t;
  }

  /** A constant tensor (deduplicated by value). */
  constant(dtype: DType, values: number[], dims: number[] = [values.length]): Tensor {
    const key = `${dtype}|${dims.join(",")}|${values.join(",")}`;
    const hit = this.#constCache.get(key);
    if (hit) return hit;
    const t = this.initializer(this.fresh("const"), toTyped(dtype, values), dims);
    t.constValue = values;
    this.#constCache.set(key, t);
    return t;
  }

  /** A scalar constant of `dtype`. */
  scalar(dtype: DType, value: number): Tensor {
    return this.constant(dtype, [value], []);
  }

  /** An int64 1-D constant (axes, shapes, starts …). */
  ints(values: number[]): Tensor {
    return this.constant("int64", values, [values.length]);
  }

  /**
   * Records a node and returns its outputs with the given dtypes and shapes (an output named "" is an
   * omitted optional output). `domain` names a non-ONNX operator set such as "com.microsoft".
   */
  node(
    opType: string,
    inputs: Tensor[],
    outs: { dtype: DType; shape: Dim[]; name?: string }[],
    attrs: Record<string, AttrValue> = {},
    options: { domain?: string } = {},
  ): Tensor[] {
    for (const i of inputs) {
      if (i.graph !== this) throw new Error(`${opType}: input ${i.name} belongs to another graph`);
    }
    const outputs = outs.map((o) =>
      new Tensor(this, o.name ?? this.fresh(opType.toLowerCase()), o.dtype, o.shape)
    );
    const node: Node = {
      opType,
      inputs,
      outputs,
      attrs,
      ...(options.domain ? { domain: options.domain } : {}),
    };
    for (const o of outputs) o.producer = node;
    this.nodes.push(node);
    return outputs;
  }

  /** An omitted optional node input (ONNX writes it as the empty name). */
  absent(): Tensor {
    return new Tensor(this, "", "float32", []);
  }

  /** Marks `t` as a graph output under `name` (adds an Identity when renaming). */
  output(t: Tensor, name?: string): Tensor {
    let out = t;
    if (name && name !== t.name) {
      out = new Tensor(this, name, t.dtype, t.shape);
      const node: Node = { opType: "Identity", inputs: [t], outputs: [out], attrs: {} };
      out.producer = node;
      this.nodes.push(node);
    }
    this.outputs.push(out);
    return out;
  }

  /** Serializes to ONNX bytes. Initializers with `externalAbove` bytes or more go to `external.file`. */
  toBytes(
    options: { external?: { file: string; minBytes?: number; sink: (chunk: Uint8Array) => void } } = {},
  ): Uint8Array {
    const nodes: NodeData[] = this.liveNodes().map((n, i) => ({
      opType: n.opType,
      inputs: n.inputs.map((t) => t.name),
      outputs: n.outputs.map((t) => t.name),
      name: `${n.opType}_${i}`,
      attrs: n.attrs,
      domain: n.domain,
    }));
    const used = new Set<string>();
    for (const n of this.liveNodes()) for (const t of n.inputs) used.add(t.name);
    used.delete("");
    for (const t of this.outputs) used.add(t.name);
    const initializers: TensorData[] = [];
    let offset = 0;
    for (const [name, init] of this.initializers) {
      if (!used.has(name)) continue;
      const raw = rawBytes(init.data);
      const td: TensorData = { name, dtype: init.tensor.dtype, dims: init.dims, raw };
      const ext = options.external;
      if (ext && raw.length >= (ext.minBytes ?? 1024)) {
        td.external = { location: ext.file, offset };
        ext.sink(raw);
        offset += raw.length;
      }
      initializers.push(td);
    }
    const vi = (t: Tensor) => ({ name: t.name, dtype: t.dtype, shape: t.shape });
    return encodeModel({
      name: this.name,
      opset: this.opset,
      nodes,
      initializers,
      inputs: this.inputs.map(vi),
      outputs: this.outputs.map(vi),
    });
  }

  /**
   * The nodes the outputs depend on, in recording order. Autodiff rules may record gradients nobody asked
   * for (e.g. of a frozen weight); they are dropped here, before ONNX Runtime sees them.
   */
  liveNodes(): Node[] {
    const need = new Set<string>(this.outputs.map((t) => t.name));
    const keep: boolean[] = new Array(this.nodes.length).fill(false);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (n.outputs.some((o) => need.has(o.name))) {
        keep[i] = true;
        for (const t of n.inputs) if (t.name) need.add(t.name);
      }
    }
    return this.nodes.filter((_, i) => keep[i]);
  }

  /** Total bytes of initializers. */
  initializerBytes(): number {
    let n = 0;
    for (const i of this.initializers.values()) n += i.data.byteLength;
    return n;
  }
}
