/**
 * On-paper memory of one GRPO step, from the same accounting as the training graphs: what the backward keeps
 * per decoder layer (selective recomputation keeps the GEMM inputs and outputs, recomputes softmax, SiLU and
 * the norms; full checkpointing keeps only each layer's input), the largest transient working set, the
 * weights and the LoRA optimizer state.
 * @module
 */
import type { LlamaShape } from "./llama.ts";

/** The workload and the storage choices. */
export interface MemoryWorkload {
  /** Sequences per step. */
  batch: number;
  /** Tokens per sequence (prompt + completion). */
  seqLen: number;
  /** Scored (completion) positions per sequence. */
  scored: number;
  /** LoRA rank on all seven projections. */
  rank: number;
  /** Bytes per base weight (4: fp32, 2: fp16/bf16). */
  weightBytes: number;
  /** Bytes per activation element (4 today: the graphs compute in fp32). */
  activationBytes: number;
  /** Full per-layer checkpointing. */
  checkpointing: boolean;
  /** Columns per vocabulary chunk of the log-probs (default 8192). */
  vocabChunk?: number;
  /** Extra copies of the weights outside the training session (the host copy on CPU: 1). */
  extraWeightCopies?: number;
  /**
   * Copies of the decoder layers' projection weights that ONNX Runtime's CPU GEMMs pre-pack (MLAS panels),
   * beyond the training session's own copy (default 0). Measured on the bench workload (30 layers, 0.54 GB of
   * weights): pre-packing on costs ≈ 0.63 GB, ≈ 1.2 copies, since the forward and the backward (dX = g·W)
   * Gemms pack their own while the original initializer is freed once every reader has packed it.
   */
  packedWeightCopies?: number;
}

/** Bytes by item. */
export interface MemoryEstimate {
  weights: number;
  lora: number;
  /** Activations kept from the forward for the backward. */
  kept: number;
  /** The largest set of short-lived tensors (one layer's backward, or a vocabulary chunk). */
  transient: number;
  total: number;
}

/** Parameters of the model (embedding, layers, norms, untied head). */
export function countParams(cfg: LlamaShape): number {
  const { hiddenSize: H, intermediateSize: I, numHeads: nh, numKvHeads: nkv, headDim: hd } = cfg;
  const layer = 2 * H * nh * hd + 2 * H * nkv * hd + 3 * H * I + 2 * H +
    (cfg.qkvBias ? nh * hd + 2 * nkv * hd : 0);
  return cfg.vocabSize * H * (cfg.tieWordEmbeddings ? 1 : 2) + cfg.numLayers * layer + H;
}

/** Estimates the peak memory of one GRPO step (policy forward + backward, in-graph reference pass). */
export function estimateGrpoMemory(cfg: LlamaShape, w: MemoryWorkload): MemoryEstimate {
  const { hiddenSize: H, intermediateSize: I, numHeads: nh, numKvHeads: nkv, headDim: hd, numLayers: L } =
    cfg;
  const N = w.batch * w.seqLen, M = w.batch * w.scored, a = w.activationBytes, r = w.rank;
  const projections = L * (2 * H * nh * hd + 2 * H * nkv * hd + 3 * H * I) * w.weightBytes;
  const weights = countParams(cfg) * w.weightBytes * (1 + (w.extraWeightCopies ?? 0)) +
    projections * (w.packedWeightCopies ?? 0);
  const loraPerLayer = r * (2 * (H + nh * hd) + 2 * (H + nkv * hd) + 3 * (H + I));
  const lora = L * loraPerLayer * 4 * 4; // fp32 factors, gradients, Adam m and v
  // per token and layer: x, x after attention, both norm outputs, q, k, v, attention output, gate, up, glu
  const perTokenLayer = 4 * H + 2 * nh * hd + 2 * nkv * hd + 3 * I + 7 * r;
  const layerKept = N * perTokenLayer * a;
  const kept = w.checkpointing ? L * N * H * a + layerKept : L * layerKept;
  const attention = 3 * w.batch * nh * w.seqLen * w.seqLen * a; // recomputed probabilities, dP, dS
  const mlp = 3 * N * I * a;
  const chunk = Math.min(w.vocabChunk ?? 8192, cfg.vocabSize);
  const head = 2 * M * chunk * 4 + chunk * H * w.weightBytes + 2 * M * H * 4;
  const transient = Math.max(attention + N * H * a, mlp, head);
  return { weights, lora, kept, transient, total: weights + lora + kept + transient };
}
