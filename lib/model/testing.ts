/**
 * Test fixtures: small random Llama/Qwen2 models written in the Hugging Face layout, so tests exercise the
 * same loading path as real models without any download.
 * @module
 */
import { join } from "node:path";
import { weightShapes } from "./llama.ts";
import { writeSafetensors } from "./safetensors.ts";
import { Rng } from "../util/rng.ts";

/** HF config.json fields of a random test model. */
export interface RandomModelConfig {
  model_type?: "llama" | "qwen2";
  vocab_size?: number;
  hidden_size?: number;
  intermediate_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  tie_word_embeddings?: boolean;
}

/** Writes `config.json` and `model.safetensors` with random weights into `dir`; returns the config. */
export async function writeRandomModel(
  dir: string,
  options: RandomModelConfig & { seed?: number } = {},
): Promise<Record<string, unknown>> {
  const type = options.model_type ?? "llama";
  const cfg = {
    architectures: [type === "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
    model_type: type,
    vocab_size: options.vocab_size ?? 50,
    hidden_size: options.hidden_size ?? 16,
    intermediate_size: options.intermediate_size ?? 32,
    num_hidden_layers: options.num_hidden_layers ?? 2,
    num_attention_heads: options.num_attention_heads ?? 4,
    num_key_value_heads: options.num_key_value_heads ?? 2,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 256,
    tie_word_embeddings: options.tie_word_embeddings ?? false,
    eos_token_id: 1,
    pad_token_id: 0,
  };
  const rng = new Rng(options.seed ?? 0);
  const shapes = weightShapes({
    vocabSize: cfg.vocab_size,
    hiddenSize: cfg.hidden_size,
    intermediateSize: cfg.intermediate_size,
    numLayers: cfg.num_hidden_layers,
    numHeads: cfg.num_attention_heads,
    numKvHeads: cfg.num_key_value_heads,
    headDim: cfg.hidden_size / cfg.num_attention_heads,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: cfg.tie_word_embeddings,
    qkvBias: type === "qwen2",
  });
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = name.endsWith("norm.weight");
    const scale = name.includes("embed") ? 0.5 : 0.2;
    tensors.set(name, {
      shape,
      data: Float32Array.from({ length: n }, () => (isNorm ? 1 + 0.1 * rng.normal() : scale * rng.normal())),
    });
  }
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(cfg, null, 2));
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
  return cfg;
}
