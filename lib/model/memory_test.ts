import { countParams, estimateGrpoMemory } from "./memory.ts";
import type { LlamaShape } from "./llama.ts";
import { assert } from "../util/assert.ts";

const LLAMA_1B: LlamaShape = {
  vocabSize: 128256,
  hiddenSize: 2048,
  intermediateSize: 8192,
  numLayers: 16,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 64,
  ropeTheta: 500000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
  qkvBias: false,
};

Deno.test("countParams: Llama-3.2-1B has 1.236 B parameters", () => {
  const p = countParams(LLAMA_1B);
  assert(Math.abs(p - 1.2358e9) < 1e6, `${p}`);
});

Deno.test("estimateGrpoMemory: checkpointing keeps less than selective recomputation; fp16 halves weights", () => {
  const w = { batch: 8, seqLen: 384, scored: 256, rank: 16, weightBytes: 4, activationBytes: 4 };
  const sel = estimateGrpoMemory(LLAMA_1B, { ...w, checkpointing: false });
  const ckpt = estimateGrpoMemory(LLAMA_1B, { ...w, checkpointing: true });
  const half = estimateGrpoMemory(LLAMA_1B, { ...w, checkpointing: true, weightBytes: 2 });
  assert(ckpt.kept < sel.kept / 4, `${ckpt.kept} vs ${sel.kept}`);
  assert(Math.abs(half.weights * 2 - ckpt.weights) < 1, "fp16 weights are half of fp32");
  assert(sel.total > ckpt.total, "totals follow");
});

Deno.test("estimateGrpoMemory: pre-packed copies add the decoder projections only (not the embedding)", () => {
  const w = {
    batch: 8,
    seqLen: 384,
    scored: 256,
    rank: 16,
    weightBytes: 4,
    activationBytes: 4,
    checkpointing: true,
  };
  const plain = estimateGrpoMemory(LLAMA_1B, w);
  const packed = estimateGrpoMemory(LLAMA_1B, { ...w, packedWeightCopies: 1 });
  const projections = 16 * (2 * 2048 * 2048 + 2 * 2048 * 512 + 3 * 2048 * 8192) * 4; // 3.9 GB
  assert(Math.abs(packed.weights - plain.weights - projections) < 1, `${packed.weights - plain.weights}`);
  assert(packed.weights - plain.weights < countParams(LLAMA_1B) * 4, "the tied embedding is not packed");
});
