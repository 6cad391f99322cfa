/**
 * Learning-rate schedules as Hugging Face's `get_scheduler` computes them: linear warm-up from 0 over
 * `ceil(warmup_ratio · max_steps)` steps, then constant, linear decay to 0, or half-cosine decay to 0.
 * The optimizer update of step `s` (1-based) uses the factor at `s − 1`, as HF's scheduler does.
 * @module
 */
import type { GrpoConfig, SchedulerType } from "./config_table.ts";

/** Options of {@linkcode learningRateAt}. */
export interface ScheduleOptions {
  /** Peak learning rate. */
  learningRate: number;
  /** Total optimizer steps. */
  maxSteps: number;
  /** Share of `maxSteps` spent warming up. */
  warmupRatio: number;
  /** Shape after warm-up. */
  type: SchedulerType;
}

/** The schedule a config sets (`learning_rate`, `max_steps`, `warmup_ratio`, `lr_scheduler_type`). */
export function scheduleOf(
  config: Pick<GrpoConfig, "learning_rate" | "max_steps" | "warmup_ratio" | "lr_scheduler_type">,
): ScheduleOptions {
  return {
    learningRate: config.learning_rate,
    maxSteps: config.max_steps,
    warmupRatio: config.warmup_ratio,
    type: config.lr_scheduler_type,
  };
}

/** Warm-up steps: `ceil(warmup_ratio · max_steps)` (HF `get_warmup_steps`). */
export function warmupSteps(options: Pick<ScheduleOptions, "maxSteps" | "warmupRatio">): number {
  return Math.ceil(options.warmupRatio * options.maxSteps);
}

/** The learning rate of the optimizer update at step `step` (1-based). */
export function learningRateAt(step: number, options: ScheduleOptions): number {
  const k = step - 1, total = options.maxSteps, warm = warmupSteps(options);
  let f: number;
  if (k < warm) f = k / Math.max(1, warm);
  else if (options.type === "constant") f = 1;
  else if (options.type === "linear") f = Math.max(0, (total - k) / Math.max(1, total - warm));
  else {
    const progress = (k - warm) / Math.max(1, total - warm);
    f = Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
  }
  return options.learningRate * f;
}
