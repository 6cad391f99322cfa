/**
 * GRPO training: `GrpoConfig` (TRL's option names) with validation and a `--help` table, the GRPO math
 * as small pure functions, rollouts, the optimizer step, the training loop with TRL-named logs,
 * checkpoints and resume, and graceful Ctrl-C. It depends only on lib/model, lib/rewards, lib/onnx and
 * lib/util: data, evaluation and judges come in through the trainer's options (lib/study wires them).
 * @module
 */
export * from "./config.ts";
export * from "./math.ts";
export * from "./schedule.ts";
export * from "./stop.ts";
export * from "./rollout.ts";
export * from "./step.ts";
export * from "./logging.ts";
export * from "./checkpoint.ts";
export * from "./trainer.ts";
export { runOracleCase } from "./oracle_case.ts";
export { readOracleCase, readOracleStepInputs } from "./oracle_case.ts";
export type { OracleStepInputs } from "./oracle_case.ts";
