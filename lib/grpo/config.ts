/**
 * `GrpoConfig`: TRL's `GRPOConfig` option names and meanings (plus the model, LoRA, device and data
 * options this project needs), one machine-readable table of every option with its default and
 * description ({@linkcode CONFIG_OPTIONS}, used for `--help`), and {@linkcode resolveConfig}, which
 * rejects unknown options and invalid values or combinations with a one-line message naming the field
 * before any work starts.
 * @module
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LORA_TARGETS } from "../model/llama.ts";
import type { ModelConfig } from "../model/config.ts";
import { REWARDS } from "../rewards/registry.ts";
import { UserError } from "../util/errors.ts";
import { LOSS_TYPES, SAMPLING_CORRECTION_MODES, type ScaleRewards } from "./math.ts";
import { ROLLOUT_QUANTIZATIONS } from "../model/quantize.ts";
import { fastDecodeUnsupported } from "../model/decode_graph.ts";
import { checkConfigValues } from "./config_checks.ts";
import type { GrpoConfig, LoraConfig, SchedulerType } from "./config_types.ts";

export type { GrpoConfig, LoraConfig, SchedulerType };

/** The accepted schedules. */
export const SCHEDULER_TYPES: readonly SchedulerType[] = ["constant", "linear", "cosine"];

/** The accepted `scale_rewards` values. */
export const SCALE_REWARDS: readonly ScaleRewards[] = ["group", "batch", "none"];

/** The accepted devices. */
export const DEVICE_CHOICES = ["auto", "cuda", "cpu"] as const;

/** One row of the option table. */
export interface ConfigOption {
  /** Option name (nested LoRA fields as `lora.r`). */
  name: string;
  /** Type shown in `--help`. */
  type: string;
  /** The default value. */
  default: unknown;
  /** What it does. */
  doc: string;
}

/** The option table (name, type, default, description), in {@linkcode GrpoConfig} order. */
export const CONFIG_OPTIONS: readonly ConfigOption[] = Object.freeze([
  {
    name: "model",
    type: "string",
    default: "data/tiny",
    doc: "Model folder or hub id (relative paths: the working folder, else the repo root).",
  },
  { name: "lora.r", type: "integer", default: 16, doc: "LoRA rank (adapter width)." },
  {
    name: "lora.alpha",
    type: "number",
    default: 32,
    doc: "LoRA scale numerator (alpha / r scales the update).",
  },
  {
    name: "lora.targets",
    type: "string[]",
    default: [...LORA_TARGETS],
    doc: `Projections that get an adapter (${LORA_TARGETS.join(", ")}).`,
  },
  {
    name: "device",
    type: "auto|cuda|cpu",
    default: "auto",
    doc: "Where the model runs; auto = CUDA when it loads, else CPU.",
  },
  { name: "threads", type: "integer|null", default: null, doc: "ORT intra-op threads; null = all cores." },
  {
    name: "dataset",
    type: "string",
    default: "generated",
    doc: 'Training data: "generated", "gsm8k" (math) / "alpaca" (dialogue), or a file path.',
  },
  {
    name: "eval_size",
    type: "integer",
    default: 100,
    doc: "Held-out examples for evaluation, never trained on (0 = no evaluation).",
  },
  {
    name: "perplexity_model",
    type: "string|null",
    default: null,
    doc: "dialogue_perplexity's frozen scorer LM (folder or hub id); null = a frozen copy of model.",
  },
  { name: "learning_rate", type: "number", default: 5e-4, doc: "Peak AdamW learning rate." },
  { name: "adam_beta1", type: "number", default: 0.9, doc: "AdamW first-moment decay beta1." },
  { name: "adam_beta2", type: "number", default: 0.99, doc: "AdamW second-moment decay beta2." },
  { name: "adam_epsilon", type: "number", default: 1e-8, doc: "AdamW denominator epsilon." },
  { name: "weight_decay", type: "number", default: 0, doc: "Decoupled weight decay." },
  {
    name: "warmup_ratio",
    type: "number",
    default: 0.05,
    doc: "Share of max_steps spent warming up linearly from 0.",
  },
  {
    name: "lr_scheduler_type",
    type: SCHEDULER_TYPES.join("|"),
    default: "constant",
    doc: "Learning-rate shape after warm-up.",
  },
  {
    name: "max_grad_norm",
    type: "number",
    default: 1,
    doc: "Clip the global gradient norm to this (0 = no clipping).",
  },
  {
    name: "per_device_train_batch_size",
    type: "integer",
    default: 32,
    doc: "Completions per micro-batch (as in TRL); a multiple of num_generations.",
  },
  {
    name: "gradient_accumulation_steps",
    type: "integer",
    default: 1,
    doc: "Micro-batches accumulated into one optimizer step.",
  },
  {
    name: "num_generations",
    type: "integer",
    default: 8,
    doc: "Completions sampled per prompt (the group size, at least 2).",
  },
  {
    name: "num_iterations",
    type: "integer",
    default: 1,
    doc: "Optimizer steps taken on each batch of rollouts (mu in the GRPO paper).",
  },
  {
    name: "max_prompt_length",
    type: "integer",
    default: 256,
    doc: "Prompt tokens kept; longer prompts lose tokens on the left (counted).",
  },
  { name: "max_completion_length", type: "integer", default: 96, doc: "Most new tokens per completion." },
  {
    name: "temperature",
    type: "number",
    default: 1,
    doc: "Sampling temperature (> 0); the loss, KL and entropy use the unscaled (temperature 1) log-probs.",
  },
  { name: "top_p", type: "number", default: 1, doc: "Nucleus sampling threshold in (0, 1] (1 = off)." },
  { name: "top_k", type: "integer", default: 0, doc: "Keep only the k most likely tokens (0 = off)." },
  {
    name: "rollout_quantization",
    type: ROLLOUT_QUANTIZATIONS.join("|"),
    default: "none",
    doc:
      "Sampling graph base weights: float32, or weight-only int8/int4 (MatMulNBits); training stays float32.",
  },
  {
    name: "rollout_importance_sampling_correction",
    type: "boolean",
    default: true,
    doc:
      "With quantized rollouts: weight each token's loss by exp(train − sampling log-prob) (TRL's vLLM IS).",
  },
  {
    name: "rollout_importance_sampling_mode",
    type: SAMPLING_CORRECTION_MODES.join("|"),
    default: "token_truncate",
    doc: "Per-token or per-sequence ratio; truncate (min(ratio, cap)) or mask (0 above cap).",
  },
  {
    name: "rollout_importance_sampling_cap",
    type: "number",
    default: 3,
    doc: "Cap of the importance-sampling ratio (> 0).",
  },
  {
    name: "beta",
    type: "number",
    default: 0.04,
    doc: "KL coefficient to the reference (base) model; 0 skips the reference pass.",
  },
  { name: "epsilon", type: "number", default: 0.2, doc: "Lower clipping bound of the probability ratio." },
  { name: "epsilon_high", type: "number|null", default: null, doc: "Upper clipping bound (null = epsilon)." },
  {
    name: "loss_type",
    type: LOSS_TYPES.join("|"),
    default: "dapo",
    doc: "How per-token losses are aggregated (TRL loss_type).",
  },
  {
    name: "scale_rewards",
    type: SCALE_REWARDS.join("|"),
    default: "group",
    doc: "Advantage scaling: std per group, over the batch, or none.",
  },
  {
    name: "reward_funcs",
    type: "string[]",
    default: ["math_hard", "format"],
    doc: "Reward function names (lib/rewards registry); experiments set their own.",
  },
  {
    name: "reward_weights",
    type: "number[]|null",
    default: null,
    doc: "One weight per reward function (null = all 1).",
  },
  { name: "max_steps", type: "integer", default: 100, doc: "Optimizer steps to train." },
  {
    name: "save_steps",
    type: "integer",
    default: 50,
    doc: "Write a checkpoint every this many steps (0 = only at the end).",
  },
  {
    name: "eval_steps",
    type: "integer",
    default: 25,
    doc: "Evaluate on the held-out split every this many steps (0 = only at start and end).",
  },
  {
    name: "logging_steps",
    type: "integer",
    default: 1,
    doc: "Write a metrics row every this many steps (values averaged over them).",
  },
  {
    name: "seed",
    type: "integer",
    default: 42,
    doc: "Seed of sampling, data order, LoRA init and the held-out split.",
  },
  {
    name: "output_dir",
    type: "string",
    default: "outputs/run",
    doc: "Where logs and checkpoints go (relative: from the repo root; experiments: outputs/<id>).",
  },
  {
    name: "resume_from_checkpoint",
    type: 'path|"latest"|null',
    default: null,
    doc: 'Resume from a checkpoint folder, or "latest" in output_dir; null starts fresh.',
  },
] as ConfigOption[]);

/** The defaults of every option, built from {@linkcode CONFIG_OPTIONS}. */
export const GRPO_DEFAULTS: Readonly<GrpoConfig> = (() => {
  const out: Record<string, unknown> = {};
  for (const o of CONFIG_OPTIONS) {
    const v = structuredClone(o.default);
    if (o.name.startsWith("lora.")) ((out.lora ??= {}) as Record<string, unknown>)[o.name.slice(5)] = v;
    else out[o.name] = v;
  }
  return Object.freeze(out as unknown as GrpoConfig);
})();

/** `--help` text: one line per option with its type, default and description. */
export function formatConfigHelp(defaults: Partial<GrpoConfig> = {}): string {
  const merged = { ...GRPO_DEFAULTS, ...defaults } as Record<string, unknown>;
  const lines = CONFIG_OPTIONS.map((o) => {
    const def = o.name.startsWith("lora.")
      ? (merged.lora as Record<string, unknown>)[o.name.slice(5)]
      : merged[o.name];
    return `  ${o.name.padEnd(30)} ${o.type.padEnd(24)} default ${JSON.stringify(def)}\n      ${o.doc}`;
  });
  return lines.join("\n");
}

/** Known option names (top level). */
export const CONFIG_KEYS: readonly string[] = Object.keys(GRPO_DEFAULTS);

function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** Throws a UserError naming `key` when it is not a known option (with a suggestion). */
export function checkOptionName(key: string, known: readonly string[] = CONFIG_KEYS, where = "option"): void {
  if (known.includes(key)) return;
  const hint = closest(key, known);
  throw new UserError(`unknown ${where} "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
}

/** Options of {@linkcode resolveConfig}. */
export interface ResolveConfigOptions {
  /** Defaults to start from instead of {@linkcode GRPO_DEFAULTS} (an experiment's). */
  base?: Partial<GrpoConfig>;
  /** Reward names that are valid besides the lib/rewards registry. */
  extraRewards?: readonly string[];
}

/**
 * Merges `partial` over the defaults and validates every value and combination; an unknown option,
 * a bad value or an impossible combination → UserError naming the field and saying why.
 */
export function resolveConfig(
  partial: Record<string, unknown> = {},
  options: ResolveConfigOptions = {},
): GrpoConfig {
  if (typeof partial !== "object" || partial === null || Array.isArray(partial)) {
    throw new UserError(`config must be an object, got ${JSON.stringify(partial)}`);
  }
  for (const k of Object.keys(partial)) checkOptionName(k);
  const base = { ...structuredClone(GRPO_DEFAULTS), ...structuredClone(options.base ?? {}) } as GrpoConfig;
  const cfg = { ...base, ...structuredClone(partial) } as GrpoConfig;
  if (partial.lora !== undefined) {
    const l = partial.lora;
    if (typeof l !== "object" || l === null || Array.isArray(l)) {
      throw new UserError(`option lora must be an object like {"r": 16}, got ${JSON.stringify(l)}`);
    }
    for (const k of Object.keys(l)) checkOptionName(k, ["r", "alpha", "targets"], "option lora.");
    cfg.lora = { ...base.lora, ...structuredClone(l as Partial<LoraConfig>) };
  }
  const knownRewards = [...Object.keys(REWARDS), ...(options.extraRewards ?? [])];
  checkConfigValues(cfg, { knownRewards });
  return cfg;
}

/** Checks the options that depend on the model: lengths against `max_position_embeddings`. */
export function checkConfigForModel(cfg: GrpoConfig, model: ModelConfig, source = "the model"): void {
  const max = model.maxPositions;
  const why = cfg.rollout_quantization !== "none" ? fastDecodeUnsupported(model) : null;
  if (why) {
    throw new UserError(
      `option rollout_quantization = "${cfg.rollout_quantization}" needs the fast decode graph, which ${source} cannot use: ${why}`,
    );
  }
  if (cfg.max_completion_length > max) {
    throw new UserError(
      `option max_completion_length = ${cfg.max_completion_length} is above ${source}'s max_position_embeddings (${max})`,
    );
  }
  if (cfg.max_prompt_length + cfg.max_completion_length > max) {
    throw new UserError(
      `options max_prompt_length + max_completion_length = ${cfg.max_prompt_length} + ${cfg.max_completion_length} exceed ${source}'s max_position_embeddings (${max})`,
    );
  }
}

/** The repository root (two folders above this file). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/**
 * A model option as a folder path when it names one: absolute paths as they are; a relative path that
 * exists from the working folder, else from the repo root; anything else is returned as is (a hub id).
 */
export function resolveModelPath(model: string): string {
  if (isAbsolute(model)) return model;
  if (existsSync(model)) return resolve(model);
  const fromRoot = resolve(REPO_ROOT, model);
  if (existsSync(fromRoot)) return fromRoot;
  if (model === GRPO_DEFAULTS.model) {
    throw new UserError(
      `option model: the default model ${fromRoot} does not exist yet (run \`deno task pretrain\`)`,
    );
  }
  return model;
}

/** The output folder: absolute paths as they are, relative ones from the repo root. */
export function resolveOutputDir(dir: string): string {
  return isAbsolute(dir) ? dir : resolve(REPO_ROOT, dir);
}
