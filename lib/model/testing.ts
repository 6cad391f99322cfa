/**
 * Test fixtures: small random Llama/Qwen2/Qwen3 models written in the Hugging Face layout, so tests exercise
 * the same loading path as real models without any download.
 * @module
 */
import { join } from "node:path";
import { type Architecture, HF_ARCHITECTURE, parseModelConfig } from "./config.ts";
import { weightShapes } from "./llama.ts";
import { writeSafetensors } from "./safetensors.ts";
import { Rng } from "../util/rng.ts";

/** HF config.json fields of a random test model. */
export interface RandomModelConfig {
  model_type?: Architecture;
  vocab_size?: number;
  hidden_size?: number;
  intermediate_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  /** Width of one head (default hidden / heads; Qwen3 models often differ). */
  head_dim?: number;
  tie_word_embeddings?: boolean;
  /** One id or a list (default 1). */
  eos_token_id?: number | number[];
  /** Default 0; null leaves `pad_token_id` out of the config. */
  pad_token_id?: number | null;
  /** Default: none. */
  bos_token_id?: number;
}

/** Writes `config.json` and `model.safetensors` with random weights into `dir`; returns the config. */
export async function writeRandomModel(
  dir: string,
  options: RandomModelConfig & { seed?: number } = {},
): Promise<Record<string, unknown>> {
  const type = options.model_type ?? "llama";
  const cfg: Record<string, unknown> = {
    architectures: [HF_ARCHITECTURE[type]],
    model_type: type,
    vocab_size: options.vocab_size ?? 50,
    hidden_size: options.hidden_size ?? 16,
    intermediate_size: options.intermediate_size ?? 32,
    num_hidden_layers: options.num_hidden_layers ?? 2,
    num_attention_heads: options.num_attention_heads ?? 4,
    num_key_value_heads: options.num_key_value_heads ?? 2,
    ...(options.head_dim ? { head_dim: options.head_dim } : {}),
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 256,
    tie_word_embeddings: options.tie_word_embeddings ?? false,
    eos_token_id: options.eos_token_id ?? 1,
    ...(options.pad_token_id === null ? {} : { pad_token_id: options.pad_token_id ?? 0 }),
    ...(options.bos_token_id !== undefined ? { bos_token_id: options.bos_token_id } : {}),
  };
  const rng = new Rng(options.seed ?? 0);
  const shapes = weightShapes(parseModelConfig(cfg, { source: `${dir}/config.json` }));
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = name.endsWith("norm.weight");
    const scale = name.includes("embed") ? 0.5 : 0.2;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = isNorm ? 1 + 0.1 * rng.normal() : scale * rng.normal();
    tensors.set(name, { shape, data });
  }
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(cfg, null, 2));
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
  return cfg;
}
