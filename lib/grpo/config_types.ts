/**
 * The types of a GRPO run's configuration ({@linkcode GrpoConfig}); defaults, the option table and
 * validation live in `config.ts`.
 * @module
 */
import type { LoraTarget } from "../model/llama.ts";
import type { LossType, SamplingCorrectionMode, ScaleRewards } from "./math.ts";
import type { RolloutQuantization } from "../model/quantize.ts";

/** Learning-rate schedules (HF `lr_scheduler_type`); all of them warm up linearly over `warmup_ratio`. */
export type SchedulerType = "constant" | "linear" | "cosine";

/** LoRA settings. */
export interface LoraConfig {
  /** Rank. Default 16. */
  r: number;
  /** Scale numerator (`alpha / r` scales the update). Default 32. */
  alpha: number;
  /** Projections that get an adapter. Default all seven (q, k, v, o, gate, up, down). */
  targets: LoraTarget[];
}

/** Every option of a GRPO run. Names and meanings follow TRL's `GRPOConfig` where TRL has the option. */
export interface GrpoConfig {
  /** Model folder or hub id (relative paths: the working folder, else the repo root). Default "data/tiny". */
  model: string;
  /** LoRA adapter settings. Default `{ r: 16, alpha: 32, targets: all seven projections }`. */
  lora: LoraConfig;
  /** "auto" (CUDA when it loads, else CPU), "cuda" or "cpu". Default "auto". */
  device: "auto" | "cuda" | "cpu";
  /** ORT intra-op threads; null = all cores. Default null. */
  threads: number | null;
  /** Training data: "generated" (the project's own set), "gsm8k" / "alpaca" (hub), or a file path. Default "generated". */
  dataset: string;
  /** Held-out examples for evaluation, never trained on. Default 100. */
  eval_size: number;
  /** dialogue_perplexity's frozen scorer LM (folder or hub id); null = a frozen copy of `model`. Default null. */
  perplexity_model: string | null;
  /** Peak AdamW learning rate. Default 5e-4. */
  learning_rate: number;
  /** AdamW β1. Default 0.9. */
  adam_beta1: number;
  /** AdamW β2. Default 0.99. */
  adam_beta2: number;
  /** AdamW ε. Default 1e-8. */
  adam_epsilon: number;
  /** Decoupled weight decay. Default 0. */
  weight_decay: number;
  /** Share of `max_steps` spent warming up linearly from 0. Default 0.05. */
  warmup_ratio: number;
  /** "constant", "linear" or "cosine" decay after warm-up. Default "constant". */
  lr_scheduler_type: SchedulerType;
  /** Clip the global gradient norm to this (0 = no clipping). Default 1. */
  max_grad_norm: number;
  /** Completions per micro-batch (as in TRL); a multiple of `num_generations`. Default 32. */
  per_device_train_batch_size: number;
  /** Micro-batches accumulated into one optimizer step. Default 1. */
  gradient_accumulation_steps: number;
  /** Completions sampled per prompt (the group size). Default 8. */
  num_generations: number;
  /** Optimizer steps taken on each batch of rollouts (μ in the GRPO paper). Default 1. */
  num_iterations: number;
  /** Prompt tokens kept (the rest is cut from the left). Default 256. */
  max_prompt_length: number;
  /** Most new tokens per completion. Default 96. */
  max_completion_length: number;
  /** Sampling temperature (the loss, KL and entropy use the unscaled log-probs). Default 1. */
  temperature: number;
  /** Nucleus sampling threshold (1 = off). Default 1. */
  top_p: number;
  /** Keep only the k most likely tokens (0 = off). Default 0. */
  top_k: number;
  /** Base weights of the sampling graph: "none" (float32), "int8" or "int4" (weight-only). Default "none". */
  rollout_quantization: RolloutQuantization;
  /** Correct quantized rollouts with importance-sampling weights (TRL's vLLM correction). Default true. */
  rollout_importance_sampling_correction: boolean;
  /** Per-token or per-sequence ratio, truncated or masked at the cap. Default "token_truncate". */
  rollout_importance_sampling_mode: SamplingCorrectionMode;
  /** The cap of the importance-sampling ratio. Default 3. */
  rollout_importance_sampling_cap: number;
  /** KL coefficient to the reference (base) model; 0 skips the reference pass. Default 0.04. */
  beta: number;
  /** Lower clipping bound ε of the probability ratio. Default 0.2. */
  epsilon: number;
  /** Upper clipping bound (null = `epsilon`). Default null. */
  epsilon_high: number | null;
  /** "grpo", "bnpo", "dr_grpo" or "dapo" loss aggregation. Default "dapo". */
  loss_type: LossType;
  /** Advantage scaling: "group", "batch" or "none". Default "group". */
  scale_rewards: ScaleRewards;
  /** Reward function names (lib/rewards registry; experiments set their own). Default ["math_hard", "format"]. */
  reward_funcs: string[];
  /** One weight per reward (null = all 1). Default null. */
  reward_weights: number[] | null;
  /** Optimizer steps to train. Default 100. */
  max_steps: number;
  /** Write a checkpoint every this many steps (0 = only at the end). Default 50. */
  save_steps: number;
  /** Evaluate on the held-out split every this many steps (0 = only at start and end). Default 25. */
  eval_steps: number;
  /** Write a metrics row every this many steps (values averaged over them). Default 1. */
  logging_steps: number;
  /** Seed of sampling, data order, LoRA init and the held-out split. Default 42. */
  seed: number;
  /** Where logs and checkpoints go (relative paths: from the repo root). Default "outputs/<experiment>". */
  output_dir: string;
  /** Resume from this checkpoint folder, or "latest" in `output_dir`; null starts fresh. Default null. */
  resume_from_checkpoint: string | null;
}
