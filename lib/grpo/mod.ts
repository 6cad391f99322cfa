/**
 * GRPO training: `GrpoConfig` (TRL's option names) with validation and a `--help` table, the loss table
 * (`losses.ts`: one row per `loss_type`) and the GRPO loss graph the model's generic training step minimizes
 * (`loss_graph.ts`), the GRPO math as small pure functions, rollouts, the optimizer step, the training loop
 * with TRL-named logs, checkpoints and resume, and graceful Ctrl-C. It depends only on lib/model, lib/rewards,
 * lib/onnx and lib/util: data, evaluation and judges come in through the trainer's options (lib/study wires
 * them).
 * @module
 */
export * from "./config.ts";
export * from "./advantages.ts";
export * from "./losses.ts";
export * from "./token_stats.ts";
export { grpoLoss, grpoStep } from "./loss_graph.ts";
export type { GrpoLossSpec, GrpoObjective, GrpoStepInputs, GrpoStepResult } from "./loss_graph.ts";
export * from "./schedule.ts";
export * from "./stop.ts";
export * from "./rollout.ts";
export * from "./rollout_collect.ts";
export * from "./step.ts";
export * from "./logging.ts";
export * from "./judge_accounting.ts";
export * from "./run_dir.ts";
export * from "./checkpoint.ts";
export * from "./trainer.ts";
export { timingSplit } from "./train_hooks.ts";
export { runOracleCase } from "./oracle_case.ts";
export { readOracleCase, readOracleStepInputs } from "./oracle_case.ts";
export type { OracleStepInputs } from "./oracle_case.ts";
