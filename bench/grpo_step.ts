/**
 * One full `math_hard` GRPO step on the embedded tiny model (rollouts, rewards, optimizer step, held-out
 * evaluation), timed per phase from the step's own `timing/*` metrics.
 * @module
 */
import { runExperiment } from "../lib/study/mod.ts";

/** Seconds per phase of one step. */
export interface StepSplit {
  rollout_s: number;
  reward_s: number;
  train_s: number;
  eval_s: number;
  step_s: number;
}

/**
 * Runs `math_hard` for two steps into `outputDir` (the first builds the sessions) and returns the split of
 * both; the second is the steady-state step (it ends the run, so it includes the held-out evaluation).
 */
export async function timeMathHardStep(
  outputDir: string,
  o: { threads: number; quantization?: string },
): Promise<StepSplit[]> {
  const res = await runExperiment("math_hard", {
    params: {
      max_steps: 2,
      save_steps: 0,
      eval_steps: 0,
      output_dir: outputDir,
      threads: o.threads,
      device: "cpu",
      rollout_quantization: o.quantization ?? "none",
      overwrite_output_dir: true,
    },
    print: false,
    handleSigint: false,
    log: () => {},
  });
  return res.rows.filter((r) => r.step > 0 && r["timing/train_s"] !== undefined).map((r) => ({
    rollout_s: r["timing/rollout_s"],
    reward_s: r["timing/reward_s"],
    train_s: r["timing/train_s"],
    eval_s: r["timing/eval_s"],
    step_s: r["timing/rollout_s"] + r["timing/reward_s"] + r["timing/train_s"] + r["timing/eval_s"],
  }));
}
