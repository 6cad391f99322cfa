/**
 * Every option of a GRPO run, declared once: type, default, help text and value check in one row
 * ({@linkcode GRPO_OPTIONS}). The {@linkcode GrpoConfig} type, the defaults, `--help`, validation,
 * the options documentation and `run_config.json` are all derived from this table. Names and
 * meanings follow TRL's `GRPOConfig` where TRL has the option. LoRA fields are rows `lora.<field>`
 * and nest as `config.lora.<field>`. Checks that involve two options live in `config.ts`.
 * @module
 */
import { LORA_TARGETS, type LoraTarget, ROLLOUT_QUANTIZATIONS } from "../model/mod.ts";
import { opt, type OptionValues } from "../util/mod.ts";
import type { ScaleRewards } from "./advantages.ts";
import { LOSS_TYPES } from "./losses.ts";
import { SAMPLING_CORRECTION_MODES } from "./token_stats.ts";
import { IMPORTANCE_SAMPLING_LEVELS, MULTI_OBJECTIVE_AGGREGATIONS } from "./objective.ts";

/** Learning-rate schedules (HF `lr_scheduler_type`); all of them warm up linearly over `warmup_ratio`. */
export type SchedulerType = "constant" | "linear" | "cosine";

/** The accepted schedules. */
export const SCHEDULER_TYPES: readonly SchedulerType[] = ["constant", "linear", "cosine"];

/** The accepted `scale_rewards` values. */
export const SCALE_REWARDS: readonly ScaleRewards[] = ["group", "batch", "none"];

/** The accepted devices. */
export const DEVICE_CHOICES = ["auto", "cuda", "cpu"] as const;

/** The option table, in `--help` order. */
export const GRPO_OPTIONS = Object.freeze({
  // model and adapter
  model: opt.str(
    "data/tiny",
    "Model folder or hub id (relative paths: the working folder, else the repo root).",
  ),
  "lora.r": opt.int(16, "LoRA rank (adapter width).", { min: 1 }),
  "lora.alpha": opt.num(32, "LoRA scale numerator (alpha / r scales the update).", { min: 0, minExcl: true }),
  "lora.targets": opt.list<LoraTarget>([...LORA_TARGETS], `Projections that get an adapter.`, {
    choices: LORA_TARGETS,
    what: "target",
  }),
  device: opt.choice(DEVICE_CHOICES, "auto", "Where the model runs; auto = CUDA when it loads, else CPU."),
  threads: opt.intOrNull(null, "ORT intra-op threads; null = all cores.", { min: 1 }),
  gradient_checkpointing: opt.bool(
    false,
    "Keep only each decoder layer's input and recompute the layer in the backward (less memory, ≈ +30 % step time).",
  ),
  // data and evaluation
  dataset: opt.str(
    "generated",
    'Training data: "generated", "gsm8k" (math) / "alpaca" (dialogue), or a file path.',
  ),
  eval_size: opt.int(100, "Held-out examples for evaluation, never trained on (0 = no evaluation).", {
    min: 0,
  }),
  eval_num_samples: opt.int(
    4,
    "Completions sampled per held-out math problem at the training temperature for eval/mean_at_k (0 = skip).",
    { min: 0 },
  ),
  perplexity_model: opt.strOrNull(
    null,
    "dialogue_perplexity's frozen scorer LM (folder or hub id); null = a frozen copy of model.",
  ),
  // optimizer and schedule
  learning_rate: opt.num(5e-4, "Peak AdamW learning rate.", { min: 0 }),
  adam_beta1: opt.num(0.9, "AdamW first-moment decay beta1.", { min: 0, max: 1, maxExcl: true }),
  adam_beta2: opt.num(0.99, "AdamW second-moment decay beta2.", { min: 0, max: 1, maxExcl: true }),
  adam_epsilon: opt.num(1e-8, "AdamW denominator epsilon.", { min: 0, minExcl: true }),
  weight_decay: opt.num(0, "Decoupled weight decay.", { min: 0 }),
  warmup_ratio: opt.num(0.05, "Share of max_steps spent warming up linearly from 0.", {
    min: 0,
    max: 1,
    maxExcl: true,
  }),
  lr_scheduler_type: opt.choice(SCHEDULER_TYPES, "constant", "Learning-rate shape after warm-up."),
  max_grad_norm: opt.num(1, "Clip the global gradient norm to this (0 = no clipping).", { min: 0 }),
  // batch shape
  per_device_train_batch_size: opt.int(
    32,
    "Completions per micro-batch (as in TRL); a multiple of num_generations.",
    { min: 1 },
  ),
  gradient_accumulation_steps: opt.int(1, "Micro-batches accumulated into one optimizer step.", { min: 1 }),
  num_generations: opt.int(8, "Completions sampled per prompt (the group size, at least 2).", { min: 2 }),
  num_iterations: opt.int(1, "Optimizer steps taken on each batch of rollouts (mu in the GRPO paper).", {
    min: 1,
  }),
  max_prompt_length: opt.int(256, "Prompt tokens kept; longer prompts lose tokens on the left (counted).", {
    min: 1,
  }),
  max_completion_length: opt.int(96, "Most new tokens per completion.", { min: 1 }),
  // sampling
  temperature: opt.num(
    1,
    "Sampling temperature (> 0); the loss, KL and entropy use the unscaled (temperature 1) log-probs.",
    { min: 0, minExcl: true },
  ),
  top_p: opt.num(1, "Nucleus sampling threshold in (0, 1] (1 = off).", { min: 0, minExcl: true, max: 1 }),
  top_k: opt.int(0, "Keep only the k most likely tokens (0 = off).", { min: 0 }),
  rollout_quantization: opt.choice(
    ROLLOUT_QUANTIZATIONS,
    "none",
    "Sampling graph base weights: float32, or weight-only int8/int4 (MatMulNBits); training stays float32.",
  ),
  rollout_importance_sampling_correction: opt.bool(
    true,
    "With quantized rollouts: weight each token's loss by exp(train - sampling log-prob) (TRL's vLLM IS correction).",
  ),
  rollout_importance_sampling_mode: opt.choice(
    SAMPLING_CORRECTION_MODES,
    "token_truncate",
    "Per-token or per-sequence ratio; truncate (min(ratio, cap)) or mask (0 above cap).",
  ),
  rollout_importance_sampling_cap: opt.num(3, "Cap of the importance-sampling ratio.", {
    min: 0,
    minExcl: true,
  }),
  // loss
  beta: opt.num(0.04, "KL coefficient to the reference (base) model; 0 skips the reference pass.", {
    min: 0,
  }),
  epsilon: opt.num(0.2, "Lower clipping bound of the probability ratio.", { min: 0 }),
  epsilon_high: opt.numOrNull(null, "Upper clipping bound (null = epsilon); at least epsilon.", { min: 0 }),
  loss_type: opt.choice(
    LOSS_TYPES,
    "dapo",
    "Objective and aggregation (TRL loss_type): clipped surrogate grpo/bnpo/dr_grpo/dapo, cispo, sapo.",
  ),
  delta: opt.numOrNull(
    null,
    "Two-sided clipping: cap the unclipped ratio at delta (> 1 + epsilon_high; grpo/bnpo/dr_grpo/dapo only).",
    { min: 1, minExcl: true },
  ),
  sapo_temperature_pos: opt.num(1, "SAPO gate temperature for tokens with positive advantage.", {
    min: 0,
    minExcl: true,
  }),
  sapo_temperature_neg: opt.num(1.05, "SAPO gate temperature for tokens with non-positive advantage.", {
    min: 0,
    minExcl: true,
  }),
  importance_sampling_level: opt.choice(
    IMPORTANCE_SAMPLING_LEVELS,
    "token",
    'Importance ratio per token, or one per sequence ("sequence" = GSPO; use loss_type grpo or sapo).',
  ),
  allow_sequence_token_sum: opt.bool(
    false,
    'Accept importance_sampling_level "sequence" with a token-summing loss_type (bnpo, dr_grpo, dapo, cispo).',
  ),
  mask_truncated_completions: opt.bool(false, "Completions cut at max_completion_length get no loss."),
  top_entropy_quantile: opt.num(
    1,
    "Only the top-q highest-entropy tokens of each micro-batch carry policy gradient (1 = all tokens).",
    { min: 0, max: 1 },
  ),
  entropy_coef: opt.num(0, "Entropy bonus: loss −= entropy_coef · mean token entropy (0 = off).", { min: 0 }),
  scale_rewards: opt.choice(
    SCALE_REWARDS,
    "group",
    "Advantage scaling: std per group, over the batch, or none.",
  ),
  // rewards
  reward_funcs: opt.list(
    ["math_hard", "format"],
    "Reward function names (lib/rewards registry); experiments set their own.",
    { what: "reward" },
  ),
  reward_weights: opt.numListOrNull(null, "One weight per reward function (null = all 1)."),
  multi_objective_aggregation: opt.choice(
    MULTI_OBJECTIVE_AGGREGATIONS,
    "sum_then_normalize",
    "Several rewards: weighted sum then scale_rewards, or normalize each per group then sum (GDPO).",
  ),
  dynamic_sampling: opt.bool(
    false,
    "DAPO dynamic sampling: drop groups with zero reward spread and refill from new prompts.",
  ),
  dynamic_sampling_max_rounds: opt.int(
    3,
    "Most extra generation rounds per step to refill the batch; unfilled → train on what is there.",
    { min: 0 },
  ),
  // loop
  max_steps: opt.int(100, "Optimizer steps to train.", { min: 1 }),
  save_steps: opt.int(50, "Write a checkpoint every this many steps (0 = only at the end).", { min: 0 }),
  eval_steps: opt.int(
    25,
    "Evaluate on the held-out split every this many steps (0 = only at start and end).",
    { min: 0 },
  ),
  logging_steps: opt.int(1, "Write a metrics row every this many steps (values averaged over them).", {
    min: 1,
  }),
  seed: opt.int(42, "Seed of sampling, data order, LoRA init and the held-out split.", { min: 0 }),
  output_dir: opt.str(
    "outputs/run",
    "Where logs and checkpoints go (relative: from the repo root; experiments: outputs/<id>_seed<seed>).",
  ),
  overwrite_output_dir: opt.bool(
    false,
    "Replace a run already in output_dir (false: such a folder stops a fresh run).",
  ),
  resume_from_checkpoint: opt.strOrNull(
    null,
    'Resume from a checkpoint folder, or "latest" in output_dir; null starts fresh.',
    'path|"latest"',
  ),
});

type Flat = OptionValues<typeof GRPO_OPTIONS>;

/** LoRA settings (the `lora.*` rows of {@linkcode GRPO_OPTIONS}). */
export type LoraConfig = { [K in keyof Flat as K extends `lora.${infer F}` ? F : never]: Flat[K] };

/** Every option of a GRPO run: the rows of {@linkcode GRPO_OPTIONS}, with `lora.*` nested. */
export type GrpoConfig =
  & { [K in keyof Flat as K extends `lora.${string}` ? never : K]: Flat[K] }
  & { lora: LoraConfig };
