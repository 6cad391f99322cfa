/**
 * Test fixtures: small random Llama/Qwen2/Qwen3 models written in the Hugging Face layout, so tests exercise
 * the same loading path as real models without any download.
 * @module
 */
import { join } from "node:path";
import { type Architecture, HF_ARCHITECTURE, parseModelConfig } from "./config.ts";
import { weightShapes } from "./llama.ts";
import { type TensorToWrite, writeSafetensors } from "./safetensors.ts";
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
  /** Default 10000. */
  rope_theta?: number;
  /** Default: none (e.g. Llama 3's `{ rope_type: "llama3", factor, low_freq_factor, … }`). */
  rope_scaling?: Record<string, unknown>;
}

/** How {@linkcode writeRandomModel} stores the weights. */
export interface RandomModelFiles {
  /** Weight seed (default 0). */
  seed?: number;
  /** Store the weights as float16 or bfloat16 (default float32); `torch_dtype` says so. */
  dtype?: "F16" | "BF16";
  /** Split the weights over this many shards listed in `model.safetensors.index.json` (default 1: one file). */
  shards?: number;
}

/**
 * Writes `config.json` and the weights (`model.safetensors`, or shards and their index) with random values into
 * `dir`; returns the config.
 */
export async function writeRandomModel(
  dir: string,
  options: RandomModelConfig & RandomModelFiles = {},
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
    rope_theta: options.rope_theta ?? 10000,
    ...(options.rope_scaling ? { rope_scaling: options.rope_scaling } : {}),
    max_position_embeddings: 256,
    tie_word_embeddings: options.tie_word_embeddings ?? false,
    eos_token_id: options.eos_token_id ?? 1,
    ...(options.pad_token_id === null ? {} : { pad_token_id: options.pad_token_id ?? 0 }),
    ...(options.bos_token_id !== undefined ? { bos_token_id: options.bos_token_id } : {}),
    ...(options.dtype ? { torch_dtype: options.dtype === "F16" ? "float16" : "bfloat16" } : {}),
  };
  const rng = new Rng(options.seed ?? 0);
  const shapes = weightShapes(parseModelConfig(cfg, { source: `${dir}/config.json` }));
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = name.endsWith("norm.weight");
    const scale = name.includes("embed") ? 0.5 : 0.2;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = isNorm ? 1 + 0.1 * rng.normal() : scale * rng.normal();
    tensors.set(name, { shape, data, dtype: options.dtype });
  }
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(cfg, null, 2));
  await writeWeights(dir, tensors, options.shards ?? 1);
  return cfg;
}

/** `model.safetensors`, or `n` shards in order plus `model.safetensors.index.json`. */
async function writeWeights(dir: string, tensors: Map<string, TensorToWrite>, n: number): Promise<void> {
  if (n <= 1) return await writeSafetensors(join(dir, "model.safetensors"), tensors);
  const names = [...tensors.keys()], per = Math.ceil(names.length / n);
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let i = 0; i < n; i++) {
    const file = `model-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.safetensors`;
    const part = new Map(names.slice(i * per, (i + 1) * per).map((k) => [k, tensors.get(k)!]));
    for (const [k, t] of part) {
      weightMap[k] = file;
      total += t.data.length * (t.dtype ? 2 : t.data.BYTES_PER_ELEMENT);
    }
    await writeSafetensors(join(dir, file), part);
  }
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  await Deno.writeTextFile(join(dir, "model.safetensors.index.json"), JSON.stringify(index, null, 2));
}
