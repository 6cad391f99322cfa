/**
 * The benchmark's workload: a random-weight model of the SmolLM2-135M shape and a GRPO batch (8 sequences,
 * 64 prompt + 128 completion tokens, LoRA r = 16 on all seven projections, β = 0.04), written in the oracle's
 * case format so eager PyTorch times exactly the same work.
 * @module
 */
import { join } from "node:path";
import { type RandomModelConfig, writeRandomModel } from "../lib/model/testing.ts";
import { initLora, loadModelConfig, LORA_TARGETS, writeSafetensors } from "../lib/model/mod.ts";
import { Rng } from "../lib/util/mod.ts";

/** SmolLM2-135M's shape (the oracle's `small135m` preset). */
export const SMOL135M = {
  vocab_size: 49152,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  tie_word_embeddings: true,
} as const;

/** Batch sizes of the benchmark. */
export const WORK = { batch: 8, prompt: 64, completion: 128, rank: 16, alpha: 32, beta: 0.04 };

/** Writes the model and the case into `dir` (once; reused when present). */
export async function prepareWorkload(dir: string, preset: RandomModelConfig = SMOL135M): Promise<{
  modelDir: string;
  casePath: string;
}> {
  const modelDir = join(dir, "model"), casePath = join(dir, "case.json");
  if (await Deno.stat(casePath).then(() => true, () => false)) return { modelDir, casePath };
  await writeRandomModel(modelDir, { ...preset, seed: 0 });
  // the oracle reads these two keys too
  const cfgPath = join(modelDir, "config.json");
  const raw = JSON.parse(await Deno.readTextFile(cfgPath));
  raw.rope_theta = 100000;
  raw.max_position_embeddings = 8192; // SmolLM2-135M's
  await Deno.writeTextFile(cfgPath, JSON.stringify(raw, null, 2));
  const cfg = await loadModelConfig(modelDir);
  const rng = new Rng(1);
  const { batch: B, prompt: P, completion: C } = WORK;
  const T = P + C;
  const ids: number[][] = [], am: number[][] = [], cm: number[][] = [];
  for (let b = 0; b < B; b++) {
    const n = Math.floor(C / 2) + rng.int(C / 2 + 1); // ragged completions, right-padded
    ids.push(Array.from({ length: T }, (_, t) => (t < P + n ? 1 + rng.int(cfg.vocabSize - 1) : 0)));
    am.push(Array.from({ length: T }, (_, t) => (t < P + n ? 1 : 0)));
    cm.push(Array.from({ length: T }, (_, t) => (t >= P && t < P + n ? 1 : 0)));
  }
  const spec = { r: WORK.rank, alpha: WORK.alpha, targets: [...LORA_TARGETS] };
  const lora = initLora(cfg, spec, { seed: 2 });
  for (const t of lora.tensors.values()) {
    for (let i = 0; i < t.data.length; i++) t.data[i] = 0.01 * rng.normal();
  }
  await writeSafetensors(casePath.replace(/\.json$/, ".lora.safetensors"), lora.tensors);
  await Deno.writeTextFile(
    casePath,
    JSON.stringify({
      input_ids: ids,
      attention_mask: am,
      completion_mask: cm,
      advantages: Array.from({ length: B }, () => rng.normal()),
      old_logprobs: null,
      loss_type: "dapo",
      beta: WORK.beta,
      epsilon: 0.2,
      epsilon_high: 0.28,
      max_completion_length: C,
      lora: spec,
    }),
  );
  return { modelDir, casePath };
}
