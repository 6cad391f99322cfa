/**
 * The inference graphs: next-token log-probs (policy with LoRA, or reference without) and one KV-cache decoding
 * step, and the pieces the training graphs (`train_graph.ts`) share with them.
 *
 * The graphs score only the positions they are given (`positions`: flat indices b·T + t, each scoring
 * log p(token t+1 | tokens ≤ t)), so the LM head never runs on prompt or padding rows.
 * @module
 */
import { chunkedTokenLogprobs, type DType, Graph, op, type Tensor } from "../onnx/mod.ts";
import {
  decoder,
  type DecoderInputs,
  decoderInputs,
  type DecoderOptions,
  type LlamaShape,
  lmHead,
  loraInputs,
  type LoraParams,
  type LoraTarget,
  type ParamFn,
  weightShapes,
} from "./llama.ts";

/** A float32 (or float64) weight with its HF shape. */
export interface Weight {
  shape: number[];
  data: Float32Array | Float64Array;
}

/** LoRA hyper-parameters. */
export interface LoraSpec {
  r: number;
  alpha: number;
  targets: readonly LoraTarget[];
}

/** Base weights as graph initializers (frozen; they stay inside the session, on the device). */
export function initializerParams(g: Graph, o: { weights: Map<string, Weight>; dtype: DType }): ParamFn {
  const { weights, dtype } = o;
  const made = new Map<string, Tensor>();
  return (name) => {
    let t = made.get(name);
    if (t) return t;
    const w = weights.get(name);
    if (!w) throw new Error(`weight ${name} is missing`);
    const data = dtype === "float64" && !(w.data instanceof Float64Array)
      ? Float64Array.from(w.data)
      : dtype === "float32" && !(w.data instanceof Float32Array)
      ? Float32Array.from(w.data)
      : w.data;
    t = g.initializer(name, data, w.shape);
    made.set(name, t);
    return t;
  };
}

/** Every weight as a graph input (trainable). Returns the param function and the inputs in creation order. */
export function inputParams(
  g: Graph,
  o: { cfg: LlamaShape; dtype: DType },
): { fn: ParamFn; inputs: Tensor[] } {
  const { cfg, dtype } = o;
  const shapes = weightShapes(cfg);
  const inputs: Tensor[] = [];
  for (const [name, shape] of shapes) inputs.push(g.input(name, dtype, shape));
  const byName = new Map(inputs.map((t) => [t.name, t]));
  return {
    fn: (name) => {
      const t = byName.get(name);
      if (!t) throw new Error(`weight ${name} is not a parameter of this config`);
      return t;
    },
    inputs,
  };
}

/**
 * log p(target) per row and the logsumexp: `logits[target] − logsumexp(logits)`.
 * @param logits [M, V]
 * @param targets [M] int64
 * @returns logp and lse, both [M]
 */
export function tokenLogprobs(logits: Tensor, targets: Tensor): { logp: Tensor; lse: Tensor } {
  const m = op.stopGradient(op.reduceMax(logits, [-1], true)); // [M, 1]
  const lse = op.add(op.log(op.reduceSum(op.exp(op.sub(logits, m)), [-1], true)), m); // [M, 1]
  const picked = op.gatherElements(logits, op.unsqueeze(targets, [-1]), -1); // [M, 1]
  return { logp: op.squeeze(op.sub(picked, lse), [-1]), lse: op.squeeze(lse, [-1]) };
}

/**
 * Per-position entropy of the next-token distribution, with its gradient: `lse − Σ softmax·logits`.
 * @param logits [M, V]
 * @param lse [M] logsumexp of the logits
 */
export function tokenEntropy(logits: Tensor, lse: Tensor): Tensor {
  const probs = op.exp(op.sub(logits, op.unsqueeze(lse, [-1])));
  return op.sub(lse, op.reduceSum(op.mul(probs, logits), [-1]));
}

/** What {@linkcode scored} declares and gives. */
export interface ScoredRows {
  inp: DecoderInputs;
  /** `target_ids` [M]. */
  targets: Tensor;
  /** The final-norm hidden rows [M, H] at `positions`, with or without LoRA. */
  hiddenAt: (l: LoraParams | null, o: DecoderOptions) => Tensor;
  /** The [V, H] output weight. */
  head: Tensor;
}

/** Options shared by the graph builders. */
export interface GraphOptions {
  /** Element type (default float32; float64 for reference checks). */
  dtype?: DType;
  /** LoRA factors as inputs (absent: the base model). */
  lora?: LoraSpec;
  /**
   * Columns of the vocabulary per chunk of the selected-token log-probs (default 8192): the `[M, V]` logits
   * never exist whole. 0: one `[M, V]` block (the primitive path, differentiated node by node).
   */
  vocabChunk?: number;
  /** Training graphs: selective recomputation (default true; see `DecoderOptions.recompute`). */
  recompute?: boolean;
  /** Training graphs: full per-layer activation checkpointing (default false). */
  gradientCheckpointing?: boolean;
}

/**
 * Decoder inputs plus `positions` [M] (flat row indices b·T + t whose next token is scored) and
 * `target_ids` [M]; `hiddenAt` gives the final-norm hidden rows [M, H] at those positions, `head` the [V, H]
 * output weight.
 */
export function scored(g: Graph, o: { cfg: LlamaShape; params: ParamFn; dtype: DType }): ScoredRows {
  const { cfg, params: p, dtype } = o;
  const inp = decoderInputs(g, { cfg, dtype });
  const positions = g.input("positions", "int64", ["M"]);
  const targets = g.input("target_ids", "int64", ["M"]);
  const hiddenAt = (l: LoraParams | null, d: DecoderOptions) =>
    op.gather(decoder(cfg, { ...d, params: p, lora: l, inputs: inp }).hidden, positions); // [M, H]
  const head = cfg.tieWordEmbeddings ? p("model.embed_tokens.weight") : p("lm_head.weight");
  return { inp, targets, hiddenAt, head };
}

/** Log-probs graph: outputs `logprobs` and `entropy`, both [M] at the given positions. */
export function buildLogprobGraph(
  cfg: LlamaShape,
  weights: Map<string, Weight>,
  o: GraphOptions = {},
): Graph {
  const dtype = o.dtype ?? "float32";
  const g = new Graph("logprobs");
  const lora = o.lora ? loraInputs(g, { cfg, spec: o.lora, dtype }) : null;
  const { hiddenAt, head, targets } = scored(g, {
    cfg,
    params: initializerParams(g, { weights, dtype }),
    dtype,
  });
  const hidden = hiddenAt(lora, { fused: true });
  if (o.vocabChunk === 0) {
    const logits = op.gemm(hidden, head, { transB: true });
    const { logp, lse } = tokenLogprobs(logits, targets);
    g.output(logp, "logprobs");
    g.output(tokenEntropy(logits, lse), "entropy");
    return g;
  }
  const r = chunkedTokenLogprobs(hidden, head, { targets, chunk: o.vocabChunk, entropy: true });
  g.output(r.logp, "logprobs");
  g.output(r.entropy!, "entropy");
  return g;
}

/**
 * One decoding step with a KV cache: inputs `input_ids` [B, T], RoPE tables, `attn_bias` [B, T, S],
 * `past.<i>.key|value` [B, nkv, P, hd] and `positions` [B] (each row's last flat index b·T + T − 1); outputs
 * `logits` [B, V] and `present.<i>.key|value` [B, nkv, S, hd]. With T = prompt length and P = 0 it is the
 * prefill.
 */
export function buildDecodeGraph(cfg: LlamaShape, weights: Map<string, Weight>, o: GraphOptions = {}): Graph {
  const dtype = o.dtype ?? "float32";
  const g = new Graph("decode");
  const inp = decoderInputs(g, { cfg, dtype, keyLen: "S" });
  inp.past = Array.from({ length: cfg.numLayers }, (_, i) => ({
    k: g.input(`past.${i}.key`, dtype, ["B", cfg.numKvHeads, "P", cfg.headDim]),
    v: g.input(`past.${i}.value`, dtype, ["B", cfg.numKvHeads, "P", cfg.headDim]),
  }));
  const positions = g.input("positions", "int64", ["B"]);
  const lora = o.lora ? loraInputs(g, { cfg, spec: o.lora, dtype }) : null;
  const p = initializerParams(g, { weights, dtype });
  const { hidden, present } = decoder(cfg, { params: p, lora, inputs: inp, fused: true });
  g.output(lmHead(op.gather(hidden, positions), { cfg, params: p }), "logits");
  present.forEach((kv, i) => {
    g.output(kv.k, `present.${i}.key`);
    g.output(kv.v, `present.${i}.value`);
  });
  return g;
}
