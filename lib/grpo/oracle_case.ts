/**
 * Runs one case of `shared/oracle/grpo_reference.py` (its JSON case format) through the engine's GRPO
 * training graph: the same weights, batch and loss, giving `loss`, `logprobs` and the LoRA gradients under
 * their PEFT names, for comparison with the PyTorch float64 reference.
 * @module
 */
import {
  CausalLM,
  loadModelConfig,
  loadModelWeights,
  type LoraAdapter,
  type LoraTarget,
  readSafetensors,
  type TokenBatch,
  type Weight,
} from "../model/mod.ts";
import type { Device } from "../onnx/mod.ts";
import { LOSS_TYPES, type LossType, tokenWeights } from "./losses.ts";
import { grpoStep, type GrpoStepInputs } from "./loss_graph.ts";
import { shiftFromNext, shiftToNext } from "./token_stats.ts";
import { UserError } from "../util/mod.ts";

/** The oracle's case file. */
export interface OracleCase {
  input_ids: number[][];
  attention_mask: number[][];
  completion_mask: number[][];
  advantages: number[];
  old_logprobs: number[][] | null;
  loss_type: LossType;
  beta: number;
  epsilon: number;
  epsilon_high: number | null;
  max_completion_length: number;
  /** "token" (default) or "sequence" (GSPO). */
  importance_sampling_level?: "token" | "sequence";
  /** Two-sided clipping cap (absent/null: off). */
  delta?: number | null;
  /** SAPO temperatures (defaults 1.0 and 1.05). */
  sapo_temperature_pos?: number;
  sapo_temperature_neg?: number;
  lora: { r: number; alpha: number; targets: LoraTarget[] };
}

/** Reads and checks a case file. */
export async function readOracleCase(path: string): Promise<OracleCase> {
  let c: OracleCase;
  try {
    c = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new UserError(`${path}: cannot read case JSON (${(e as Error).message.split("\n")[0]})`);
  }
  for (const k of ["input_ids", "attention_mask", "completion_mask", "advantages", "lora"] as const) {
    if (!c[k]) throw new UserError(`${path}: missing field "${k}"`);
  }
  if (!LOSS_TYPES.includes(c.loss_type)) throw new UserError(`${path}: unknown loss_type "${c.loss_type}"`);
  const level = c.importance_sampling_level ?? "token";
  if (level !== "token" && level !== "sequence") {
    throw new UserError(`${path}: unknown importance_sampling_level "${level}"`);
  }
  return c;
}

const flat = (rows: number[][]) => rows.flat();

/** A case as the inputs of one `CausalLM.grpoStep`: what the bench and the memory probe run. */
export interface OracleStepInputs {
  /** The case file's contents. */
  case: OracleCase;
  /** The token rows. */
  batch: TokenBatch;
  /** The adapter, from `<case>.lora.safetensors`. */
  lora: LoraAdapter;
  /** The loss's token weights, next-token aligned (`[B·T]`). */
  tokenWeights: Float64Array;
  /** The case's GRPO step on the model (what {@linkcode grpoStep} takes). */
  step: GrpoStepInputs;
}

/**
 * Reads the case at `casePath` and its adapter (`<case>.lora.safetensors`) into the inputs of one GRPO step
 * on the model in `options.baseModel`: the batch, the adapter and the token weights of the case's loss type
 * (normalized by the case's `max_completion_length`, as the oracle does).
 */
export async function readOracleStepInputs(
  casePath: string,
  options: { baseModel: string },
): Promise<OracleStepInputs> {
  const c = await readOracleCase(casePath);
  const read = await readSafetensors(casePath.replace(/\.json$/, "") + ".lora.safetensors");
  const lora: LoraAdapter = {
    spec: { r: c.lora.r, alpha: c.lora.alpha, targets: c.lora.targets },
    baseModel: options.baseModel,
    tensors: new Map([...read].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])),
  };
  const B = c.input_ids.length, T = c.input_ids[0].length;
  const batch = { ids: flat(c.input_ids), mask: flat(c.attention_mask), batch: B, length: T };
  const w = tokenWeights(flat(c.completion_mask), {
    batch: B,
    lossType: c.loss_type,
    maxCompletionLength: c.max_completion_length,
  });
  const weights = shiftToNext(w, B);
  const step: GrpoStepInputs = {
    batch,
    lora,
    tokenWeights: weights,
    advantages: c.advantages,
    old: c.old_logprobs ? shiftToNext(flat(c.old_logprobs), B) : undefined,
    beta: c.beta,
    epsilon: c.epsilon,
    epsilonHigh: c.epsilon_high ?? c.epsilon,
    objective: {
      lossType: c.loss_type,
      delta: c.delta ?? null,
      sapoTemperaturePos: c.sapo_temperature_pos ?? 1,
      sapoTemperatureNeg: c.sapo_temperature_neg ?? 1.05,
      sequenceLevel: (c.importance_sampling_level ?? "token") === "sequence",
    },
  };
  return { case: c, batch, lora, tokenWeights: weights, step };
}

/** Options of {@linkcode runOracleCase}. */
export interface OracleRunOptions {
  device?: Device;
  /** Reference log-probs: "graph" (inside the GRPO graph, default) or "separate" (the log-probs graph). */
  ref?: "graph" | "separate";
}

/** Loss, log-probs (oracle alignment) and LoRA gradients for a case. */
export async function runOracleCase(
  modelDir: string,
  casePath: string,
  options: OracleRunOptions = {},
): Promise<Map<string, { shape: number[]; data: Float64Array }>> {
  const config = await loadModelConfig(modelDir);
  const weights = await loadModelWeights(modelDir) as unknown as Map<string, Weight>;
  const model = new CausalLM({ dir: modelDir, config, weights }, { device: options.device ?? "cpu" });
  const { case: c, batch, lora, step } = await readOracleStepInputs(casePath, { baseModel: modelDir });
  const B = batch.batch, T = batch.length, am = batch.mask;
  const ref = c.beta && options.ref === "separate" ? (await model.logprobs(batch, null)).logprobs : undefined;
  const out = await grpoStep(model, { ...step, ref });
  // Log-probs of every real token (the oracle's alignment): one more pass with the adapter.
  const all = (await model.logprobs(batch, lora)).logprobs;
  await model.release();
  const result = new Map<string, { shape: number[]; data: Float64Array }>();
  result.set("loss", { shape: [1], data: Float64Array.of(out.loss) });
  const lp = shiftFromNext(all, B);
  for (let i = 0; i < lp.length; i++) if (!am[i] || i % T === 0) lp[i] = 0;
  result.set("logprobs", { shape: [B, T], data: lp });
  for (const [name, g] of out.grads) {
    result.set(name, { shape: lora.tensors.get(name)!.shape, data: Float64Array.from(g.data) });
  }
  return result;
}
