/**
 * The training graphs: a LoRA training graph over a loss it is given ({@linkcode buildLoraTrainGraph}: the model
 * supplies the scored log-probs, optionally the full logits and a gradient-free base-model pass; the loss, a
 * {@linkcode TrainLoss}, declares its own inputs and builds the scalar), and the language-model training graph
 * (next-token cross-entropy, gradients of every weight, for pretraining). The model layer knows no particular
 * objective: the GRPO family is built in `lib/grpo/loss_graph.ts`.
 * @module
 */
import { chunkedTokenLogprobs, type DType, gradients, Graph, op, type Tensor } from "../onnx/mod.ts";
import { type DecoderOptions, type LlamaShape, loraInputs } from "./llama.ts";
import {
  type GraphOptions,
  initializerParams,
  inputParams,
  type LoraSpec,
  scored,
  tokenLogprobs,
  type Weight,
} from "./graphs.ts";

/** What a {@linkcode TrainLoss} sees while it builds its loss; per-position tensors are `[M]`. */
export interface LossContext {
  /** The graph (declare inputs with dimension "M" for per-position values). */
  graph: Graph;
  /** Element type of the floating inputs. */
  dtype: DType;
  /** log p(target) at each scored position, with the gradient (through the adapter). */
  logp: Tensor;
  /** The `[M, V]` logits and `[M]` logsumexp (only when the loss asks for `fullLogits`). */
  logits?: Tensor;
  lse?: Tensor;
  /** The base model's (no adapter) log-probs, gradient-free, computed in this graph on first call. */
  baseLogprobs: () => Tensor;
}

/** A loss the LoRA training graph minimizes. */
export interface TrainLoss {
  /** Names the graph this loss builds: equal keys must build equal graphs (sessions are cached by it). */
  key: string;
  /** Needs `logits`/`lse` (e.g. to differentiate the entropy): the unchunked head. */
  fullLogits?: boolean;
  /** Builds the scalar loss (it may add graph outputs of its own). */
  build: (ctx: LossContext) => Tensor;
}

/** Options of {@linkcode buildLoraTrainGraph}. */
export interface LoraTrainGraphOptions extends GraphOptions {
  lora: LoraSpec;
  loss: TrainLoss;
}

/**
 * A LoRA training graph on M scored positions. Inputs: decoder inputs, `positions`, `target_ids`, the LoRA
 * factors and whatever the loss declares. Outputs: `loss`, `logprobs` [M], the loss's own outputs, and
 * `grad.<PEFT name>` for every LoRA factor.
 */
export function buildLoraTrainGraph(
  cfg: LlamaShape,
  weights: Map<string, Weight>,
  o: LoraTrainGraphOptions,
): Graph {
  const dtype = o.dtype ?? "float32";
  const g = new Graph("lora_train");
  const lora = loraInputs(g, { cfg, spec: o.lora, dtype });
  const params = initializerParams(g, { weights, dtype });
  const { targets, hiddenAt, head } = scored(g, { cfg, params, dtype });
  // a differentiated entropy needs the [M, V] logits (the chunked path has no gradient through its entropy)
  const chunk = o.loss.fullLogits ? 0 : (o.vocabChunk ?? 8192);
  const train: DecoderOptions = { recompute: o.recompute, checkpoint: o.gradientCheckpointing };
  const logprobsOf = (hidden: Tensor, grad: boolean) =>
    chunk === 0
      ? tokenLogprobs(op.gemm(hidden, head, { transB: true }), targets).logp
      : chunkedTokenLogprobs(hidden, head, { targets, chunk, grad }).logp;
  const policyHidden = hiddenAt(lora, train);
  const logits = chunk === 0 ? op.gemm(policyHidden, head, { transB: true }) : undefined;
  const full = logits ? tokenLogprobs(logits, targets) : undefined;
  const logp = full ? full.logp : logprobsOf(policyHidden, true); // [M]
  let base: Tensor | undefined;
  const baseLogprobs = () =>
    // gradient-free: fused kernels
    base ??= op.stopGradient(logprobsOf(hiddenAt(null, { fused: true }), false));
  const loss = o.loss.build({ graph: g, dtype, logp, logits, lse: full?.lse, baseLogprobs });
  const factors = [...lora.modules.values()].flatMap((m) => [m.a, m.b]);
  const grads = gradients(loss, factors);
  g.output(loss, "loss");
  g.output(logp, "logprobs");
  factors.forEach((t, i) => g.output(grads[i], `grad.${t.name}`));
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
  const { fn, inputs } = inputParams(g, { cfg, dtype });
  const { targets, hiddenAt, head } = scored(g, { cfg, params: fn, dtype });
  // every weight is trained, the head too: the unchunked head (the chunked one has no weight gradient)
  const logits = op.gemm(hiddenAt(null, { recompute: true }), head, { transB: true });
  const w = g.input("token_weights", dtype, ["M"]);
  const loss = op.neg(op.reduceSum(op.mul(tokenLogprobs(logits, targets).logp, w), [0]));
  const grads = gradients(loss, inputs);
  g.output(loss, "loss");
  inputs.forEach((t, i) => g.output(grads[i], `grad.${t.name}`));
  return g;
}
