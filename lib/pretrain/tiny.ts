/**
 * The embedded tiny model's architecture and its random initialization (GPT-2 style: N(0, 0.02), residual
 * output projections scaled by 1/√(2·layers), norms at 1).
 * @module
 */
import { type LlamaShape, type Weight, weightShapes } from "../model/mod.ts";
import { Rng } from "../util/mod.ts";

/** Sizes of the tiny model: the architecture fields it chooses, plus its context length. */
export type TinySizes =
  & Pick<
    LlamaShape,
    "vocabSize" | "hiddenSize" | "intermediateSize" | "numLayers" | "numHeads" | "numKvHeads"
  >
  & { maxPositions: number };

/** The default sizes (≈ 3 M parameters, ≈ 12 MB in float32). */
export const TINY_SIZES: Omit<TinySizes, "vocabSize"> = {
  hiddenSize: 256,
  intermediateSize: 640,
  numLayers: 4,
  numHeads: 8,
  numKvHeads: 4,
  maxPositions: 512,
};

/** The Hugging Face `config.json` of the tiny model. */
export function tinyConfigJson(s: TinySizes, ids: { eos: number[]; pad: number }): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: s.vocabSize,
    hidden_size: s.hiddenSize,
    intermediate_size: s.intermediateSize,
    num_hidden_layers: s.numLayers,
    num_attention_heads: s.numHeads,
    num_key_value_heads: s.numKvHeads,
    head_dim: s.hiddenSize / s.numHeads,
    hidden_act: "silu",
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    rope_scaling: null,
    attention_bias: false,
    max_position_embeddings: s.maxPositions,
    tie_word_embeddings: true,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    torch_dtype: "float32",
  };
}

/** Random initial weights for `s` (seeded). */
export function initTinyWeights(s: TinySizes, seed: number): Map<string, Weight> {
  const rng = new Rng(seed);
  const shapes = weightShapes({
    ...s,
    headDim: s.hiddenSize / s.numHeads,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
    qkvBias: false,
  });
  const out = new Map<string, Weight>();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith("norm.weight")) data.fill(1);
    else {
      const std = /o_proj|down_proj/.test(name) ? 0.02 / Math.sqrt(2 * s.numLayers) : 0.02;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    out.set(name, { shape, data });
  }
  return out;
}
