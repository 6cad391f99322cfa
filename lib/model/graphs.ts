/**
 * The model graphs: next-token log-probs (policy with LoRA, or reference without), the GRPO training graph
 * (loss + LoRA gradients), the language-model training graph (loss + gradients of every weight, for
 * pretraining), and one KV-cache decoding step.
 *
 * The graphs score only the positions they are given (`positions`: flat indices b·T + t, each scoring
 * log p(token t+1 | tokens ≤ t)), so the LM head never runs on prompt or padding rows. Loss aggregation
 * (grpo, bnpo, dr_grpo, dapo) is folded into per-token weights computed on the host (`lib/grpo/math.ts`), so
 * one graph serves every loss type and gradient accumulation.
 * @module
 */
import { type DType, Graph, type Tensor } from "../onnx/graph.ts";
import * as op from "../onnx/ops.ts";
import { gradients } from "../onnx/autodiff.ts";
import {
  decoder,
  decoderInputs,
  type LlamaShape,
  lmHead,
  loraInputs,
  type LoraParams,
  type LoraTarget,
  type ParamFn,
  weightShapes,
} from "./llama.ts";
import { perTokenPolicyLoss, type PolicyLossOptions, tokenEntropy } from "./grpo_objective.ts";

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
export function initializerParams(g: Graph, weights: Map<string, Weight>, dtype: DType): ParamFn {
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
export function inputParams(g: Graph, cfg: LlamaShape, dtype: DType): { fn: ParamFn; inputs: Tensor[] } {
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

/** Options shared by the graph builders. */
export interface GraphOptions {
  /** Element type (default float32; float64 for reference checks). */
  dtype?: DType;
  /** LoRA factors as inputs (absent: the base model). */
  lora?: LoraSpec;
}

/**
 * Decoder inputs plus `positions` [M] (flat row indices b·T + t whose next token is scored) and
 * `target_ids` [M]; returns the scored log-probs at those rows.
 */
function scored(
  cfg: LlamaShape,
  p: ParamFn,
  lora: LoraParams | null,
  g: Graph,
  dtype: DType,
  fused: boolean,
) {
  const inp = decoderInputs(g, cfg, dtype);
  const positions = g.input("positions", "int64", ["M"]);
  const targets = g.input("target_ids", "int64", ["M"]);
  const logitsAt = (l: LoraParams | null, f: boolean) => {
    const { hidden } = decoder(cfg, p, l, inp, { fused: f }); // [N, H]
    return lmHead(cfg, p, op.gather(hidden, positions)); // [M, V]
  };
  return { inp, targets, logitsAt, logits: logitsAt(lora, fused) };
}

/** Log-probs graph: outputs `logprobs` and `entropy`, both [M] at the given positions. */
export function buildLogprobGraph(
  cfg: LlamaShape,
  weights: Map<string, Weight>,
  o: GraphOptions = {},
): Graph {
  const dtype = o.dtype ?? "float32";
  const g = new Graph("logprobs");
  const lora = o.lora ? loraInputs(g, cfg, o.lora, dtype) : null;
  const { logits, targets } = scored(cfg, initializerParams(g, weights, dtype), lora, g, dtype, true);
  const { logp, lse } = tokenLogprobs(logits, targets);
  // entropy = lse − Σ p·logits  with p = exp(logits − lse)
  const probs = op.exp(op.sub(logits, op.unsqueeze(lse, [-1])));
  g.output(logp, "logprobs");
  g.output(op.sub(lse, op.reduceSum(op.mul(probs, logits), [-1])), "entropy");
  return g;
}

/** Options of the GRPO training graph. */
export interface GrpoGraphOptions extends GraphOptions {
  lora: LoraSpec;
  /** KL coefficient β (0: no reference). */
  beta: number;
  /** Lower clip ε. */
  epsilon: number;
  /** Upper clip ε_high (defaults to ε). */
  epsilonHigh?: number;
  /** Feed `old_logprobs` (else the ratio is 1 with the current log-probs detached). */
  useOld: boolean;
  /** The policy objective and its hyper-parameters beyond ε (see `grpo_objective.ts`). */
  objective?: Omit<PolicyLossOptions, "epsilon" | "epsilonHigh">;
  /** Multiply the policy term by a `policy_mask` input [M] (top-entropy masking). */
  policyMask?: boolean;
  /** Entropy bonus coefficient: `loss −= entropyCoef · Σ entropy_weights · H` (0: off, no entropy here). */
  entropyCoef?: number;
  /**
   * With β > 0: compute the reference log-probs inside this graph (a second, gradient-free pass without
   * LoRA over the same initializers: one session, one copy of the weights) instead of feeding `ref_logprobs`.
   */
  computeRef?: boolean;
}

/**
 * GRPO training graph on M scored positions. Inputs: decoder inputs, `positions`, `target_ids`,
 * `token_weights` [M], `advantages` [M] (each position's sequence advantage), optional `old_logprobs` and
 * `ref_logprobs` [M], `seq_mean` [S, M] and `seq_index` [M] (sequence-level ratios), `policy_mask` [M],
 * `entropy_weights` [M], LoRA factors. With β = 0 the graph holds no reference pass at all. Outputs: `loss`, `logprobs` [M], `ref_logprobs_out` [M] when computed,
 * and `grad.<PEFT name>` for every LoRA factor.
 */
export function buildGrpoGraph(cfg: LlamaShape, weights: Map<string, Weight>, o: GrpoGraphOptions): Graph {
  const dtype = o.dtype ?? "float32";
  const g = new Graph("grpo");
  const lora = loraInputs(g, cfg, o.lora, dtype);
  const p = initializerParams(g, weights, dtype);
  const { logits, targets, logitsAt } = scored(cfg, p, lora, g, dtype, false);
  const w = g.input("token_weights", dtype, ["M"]);
  const adv = g.input("advantages", dtype, ["M"]);
  const { logp, lse } = tokenLogprobs(logits, targets); // [M]
  const on = op.greater(w, 0); // positions that enter the loss
  const detached = op.stopGradient(logp);
  const old = o.useOld ? op.where(on, g.input("old_logprobs", dtype, ["M"]), detached) : detached;
  const seq = o.objective?.sequenceLevel
    ? { seqMean: g.input("seq_mean", dtype, ["S", "M"]), seqIndex: g.input("seq_index", "int64", ["M"]) }
    : {};
  const multipliers = o.policyMask ? [g.input("policy_mask", dtype, ["M"])] : [];
  let perTok = perTokenPolicyLoss( // [M]
    { logp, old, advantages: adv, ...seq, multipliers },
    { ...o.objective, epsilon: o.epsilon, epsilonHigh: o.epsilonHigh ?? o.epsilon },
  );
  if (o.beta) {
    const refIn = o.computeRef
      ? op.stopGradient(tokenLogprobs(logitsAt(null, true), targets).logp) // gradient-free: fused kernels
      : g.input("ref_logprobs", dtype, ["M"]);
    if (o.computeRef) g.output(refIn, "ref_logprobs_out");
    const ref = op.where(on, refIn, detached);
    const d = op.sub(ref, logp); // k3 estimator: e^d − d − 1
    perTok = op.add(perTok, op.mul(op.sub(op.sub(op.exp(d), d), 1), o.beta));
  }
  let loss = op.reduceSum(op.mul(perTok, w), [0]);
  if (o.entropyCoef) {
    const ew = g.input("entropy_weights", dtype, ["M"]);
    loss = op.sub(loss, op.mul(op.reduceSum(op.mul(tokenEntropy(logits, lse), ew), [0]), o.entropyCoef));
  }
  const params = [...lora.modules.values()].flatMap((m) => [m.a, m.b]);
  const grads = gradients(loss, params);
  g.output(loss, "loss");
  g.output(logp, "logprobs");
  params.forEach((t, i) => g.output(grads[i], `grad.${t.name}`));
  return g;
}

/**
 * Next-token cross-entropy with gradients of every weight (full fine-tuning). Inputs: decoder inputs,
 * `positions`, `target_ids`, `token_weights` [M]; every weight is an input named as in `model.safetensors`.
 * Outputs: `loss` = −Σ w·log p and `grad.<weight name>`.
 */
export function buildLmTrainGraph(cfg: LlamaShape, o: { dtype?: DType } = {}): Graph {
  const dtype = o.dtype ?? "float32";
  const g = new Graph("lm_train");
  const { fn, inputs } = inputParams(g, cfg, dtype);
  const { logits, targets } = scored(cfg, fn, null, g, dtype, false);
  const w = g.input("token_weights", dtype, ["M"]);
  const loss = op.neg(op.reduceSum(op.mul(tokenLogprobs(logits, targets).logp, w), [0]));
  const grads = gradients(loss, inputs);
  g.output(loss, "loss");
  inputs.forEach((t, i) => g.output(grads[i], `grad.${t.name}`));
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
  const inp = decoderInputs(g, cfg, dtype, "S");
  inp.past = Array.from({ length: cfg.numLayers }, (_, i) => ({
    k: g.input(`past.${i}.key`, dtype, ["B", cfg.numKvHeads, "P", cfg.headDim]),
    v: g.input(`past.${i}.value`, dtype, ["B", cfg.numKvHeads, "P", cfg.headDim]),
  }));
  const positions = g.input("positions", "int64", ["B"]);
  const lora = o.lora ? loraInputs(g, cfg, o.lora, dtype) : null;
  const p = initializerParams(g, weights, dtype);
  const { hidden, present } = decoder(cfg, p, lora, inp, { fused: true });
  g.output(lmHead(cfg, p, op.gather(hidden, positions)), "logits");
  present.forEach((kv, i) => {
    g.output(kv.k, `present.${i}.key`);
    g.output(kv.v, `present.${i}.value`);
  });
  return g;
}
