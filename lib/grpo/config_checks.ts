/**
 * Value and combination checks of a merged {@linkcode GrpoConfig}: each failure is a one-line
 * UserError naming the option and saying why.
 * @module
 */
import { LORA_TARGETS } from "../model/llama.ts";
import { UserError } from "../util/errors.ts";
import { LOSS_TYPES, SAMPLING_CORRECTION_MODES } from "./math.ts";
import { ROLLOUT_QUANTIZATIONS } from "../model/quantize.ts";
import type { GrpoConfig } from "./config_types.ts";

const bad = (name: string, v: unknown, why: string) =>
  new UserError(`option ${name} = ${JSON.stringify(v)}: ${why}`);

function num(
  name: string,
  v: unknown,
  o: { min?: number; max?: number; minExcl?: boolean; maxExcl?: boolean },
) {
  if (typeof v !== "number" || !Number.isFinite(v)) throw bad(name, v, "expected a finite number");
  if (o.min !== undefined && (o.minExcl ? v <= o.min : v < o.min)) {
    throw bad(name, v, `must be ${o.minExcl ? ">" : "≥"} ${o.min}`);
  }
  if (o.max !== undefined && (o.maxExcl ? v >= o.max : v > o.max)) {
    throw bad(name, v, `must be ${o.maxExcl ? "<" : "≤"} ${o.max}`);
  }
}

function int(name: string, v: unknown, min: number) {
  if (typeof v !== "number" || !Number.isInteger(v)) throw bad(name, v, "expected an integer");
  if (v < min) throw bad(name, v, `must be ≥ ${min}`);
}

function choice(name: string, v: unknown, choices: readonly string[]) {
  if (typeof v !== "string" || !choices.includes(v)) {
    throw bad(name, v, `unknown value; expected one of ${choices.join(", ")}`);
  }
}

function str(name: string, v: unknown) {
  if (typeof v !== "string" || !v.trim()) throw bad(name, v, "expected a non-empty string");
}

/** Validates every field and combination of `cfg` (already merged over the defaults). */
export function checkConfigValues(cfg: GrpoConfig, options: { knownRewards: readonly string[] }): void {
  str("model", cfg.model);
  // lora
  int("lora.r", cfg.lora.r, 1);
  num("lora.alpha", cfg.lora.alpha, { min: 0, minExcl: true });
  if (!Array.isArray(cfg.lora.targets) || cfg.lora.targets.length === 0) {
    throw bad("lora.targets", cfg.lora.targets, "expected a non-empty list of projection names");
  }
  for (const t of cfg.lora.targets) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) {
      throw bad(
        "lora.targets",
        cfg.lora.targets,
        `unknown target "${t}"; expected some of ${LORA_TARGETS.join(", ")}`,
      );
    }
  }
  if (new Set(cfg.lora.targets).size !== cfg.lora.targets.length) {
    throw bad("lora.targets", cfg.lora.targets, "lists a target twice");
  }
  choice("device", cfg.device, ["auto", "cuda", "cpu"]);
  if (cfg.threads !== null) int("threads", cfg.threads, 1);
  str("dataset", cfg.dataset);
  int("eval_size", cfg.eval_size, 0);
  if (cfg.perplexity_model !== null) str("perplexity_model", cfg.perplexity_model);
  // optimizer and schedule
  if (typeof cfg.learning_rate !== "number" || !Number.isFinite(cfg.learning_rate)) {
    throw bad("learning_rate", cfg.learning_rate, "expected a finite number");
  }
  if (cfg.learning_rate < 0) throw bad("learning_rate", cfg.learning_rate, "must not be negative");
  num("adam_beta1", cfg.adam_beta1, { min: 0, max: 1, maxExcl: true });
  num("adam_beta2", cfg.adam_beta2, { min: 0, max: 1, maxExcl: true });
  num("adam_epsilon", cfg.adam_epsilon, { min: 0, minExcl: true });
  num("weight_decay", cfg.weight_decay, { min: 0 });
  num("warmup_ratio", cfg.warmup_ratio, { min: 0, max: 1, maxExcl: true });
  choice("lr_scheduler_type", cfg.lr_scheduler_type, ["constant", "linear", "cosine"]);
  num("max_grad_norm", cfg.max_grad_norm, { min: 0 });
  // batch shape
  int("per_device_train_batch_size", cfg.per_device_train_batch_size, 1);
  int("gradient_accumulation_steps", cfg.gradient_accumulation_steps, 1);
  int("num_generations", cfg.num_generations, 1);
  if (cfg.num_generations < 2) {
    throw bad(
      "num_generations",
      cfg.num_generations,
      "GRPO needs at least 2 completions per prompt to compare",
    );
  }
  if (cfg.per_device_train_batch_size % cfg.num_generations !== 0) {
    throw new UserError(
      `option per_device_train_batch_size = ${cfg.per_device_train_batch_size} is not divisible by num_generations = ${cfg.num_generations} (each micro-batch holds whole groups)`,
    );
  }
  int("num_iterations", cfg.num_iterations, 1);
  int("max_prompt_length", cfg.max_prompt_length, 1);
  int("max_completion_length", cfg.max_completion_length, 1);
  // sampling
  num("temperature", cfg.temperature, { min: 0, minExcl: true });
  num("top_p", cfg.top_p, { min: 0, minExcl: true, max: 1 });
  int("top_k", cfg.top_k, 0);
  choice("rollout_quantization", cfg.rollout_quantization, ROLLOUT_QUANTIZATIONS);
  if (typeof cfg.rollout_importance_sampling_correction !== "boolean") {
    throw bad(
      "rollout_importance_sampling_correction",
      cfg.rollout_importance_sampling_correction,
      "expected true or false",
    );
  }
  choice("rollout_importance_sampling_mode", cfg.rollout_importance_sampling_mode, SAMPLING_CORRECTION_MODES);
  num("rollout_importance_sampling_cap", cfg.rollout_importance_sampling_cap, { min: 0, minExcl: true });
  // loss
  num("beta", cfg.beta, { min: 0 });
  num("epsilon", cfg.epsilon, { min: 0 });
  if (cfg.epsilon_high !== null) {
    num("epsilon_high", cfg.epsilon_high, { min: 0 });
    if (cfg.epsilon_high < cfg.epsilon) {
      throw bad("epsilon_high", cfg.epsilon_high, `must be ≥ epsilon (${cfg.epsilon})`);
    }
  }
  choice("loss_type", cfg.loss_type, LOSS_TYPES);
  choice("scale_rewards", cfg.scale_rewards, ["group", "batch", "none"]);
  // rewards
  if (!Array.isArray(cfg.reward_funcs) || cfg.reward_funcs.length === 0) {
    throw bad("reward_funcs", cfg.reward_funcs, "expected a non-empty list of reward names");
  }
  for (const r of cfg.reward_funcs) {
    if (typeof r !== "string" || !options.knownRewards.includes(r)) {
      throw bad(
        "reward_funcs",
        cfg.reward_funcs,
        `unknown reward "${r}"; known: ${options.knownRewards.join(", ")}`,
      );
    }
  }
  if (new Set(cfg.reward_funcs).size !== cfg.reward_funcs.length) {
    throw bad("reward_funcs", cfg.reward_funcs, "names a reward twice; each reward needs its own log name");
  }
  if (cfg.reward_weights !== null) {
    if (!Array.isArray(cfg.reward_weights)) {
      throw bad("reward_weights", cfg.reward_weights, "expected a list or null");
    }
    if (cfg.reward_weights.length !== cfg.reward_funcs.length) {
      throw bad(
        "reward_weights",
        cfg.reward_weights,
        `has ${cfg.reward_weights.length} weights for ${cfg.reward_funcs.length} reward_funcs`,
      );
    }
    for (const w of cfg.reward_weights) {
      if (typeof w !== "number" || !Number.isFinite(w)) {
        throw bad("reward_weights", cfg.reward_weights, `weight ${w} is not a finite number`);
      }
    }
  }
  // loop
  int("max_steps", cfg.max_steps, 1);
  int("save_steps", cfg.save_steps, 0);
  int("eval_steps", cfg.eval_steps, 0);
  int("logging_steps", cfg.logging_steps, 1);
  int("seed", cfg.seed, 0);
  str("output_dir", cfg.output_dir);
  if (cfg.resume_from_checkpoint !== null) str("resume_from_checkpoint", cfg.resume_from_checkpoint);
}
