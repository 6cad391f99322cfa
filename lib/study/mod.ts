/**
 * The study layer: the six experiments and {@linkcode runExperiment} (data, rewards, judge and held-out
 * evaluation wired into the GRPO trainer), status and run-all over an output folder, the Testing
 * notebook's inputs (adapters found in run folders, fresh test sets), and the run-folder format (from
 * lib/util's run-folder module, which the trainer writes through). Evaluation (lib/eval) and analysis
 * (lib/analysis) sit at this level too. Sweeps: a grid of experiments × seeds × models × options run here,
 * as a Slurm job array, or emitted as a Kubernetes Indexed Job, with a manifest of every run's state.
 * @module
 */
export * from "./experiments.ts";
export * from "./status.ts";
export * from "./compare_inputs.ts";
export {
  assertNoEarlierRun,
  checkpointName,
  checkpointStep,
  DEFAULT_OUTPUTS_DIR,
  defaultOutputDir,
  describeRun,
  findRunDirs,
  holdsRun,
  lastLoggedStep,
  listCheckpoints,
  readRunConfig,
  readRunSummary,
  RUN_FILES,
  runFile,
  runFolderName,
} from "../util/mod.ts";
export type { RunSummary } from "../util/mod.ts";
export * from "./sweep_spec.ts";
export * from "./sweep_manifest.ts";
export * from "./sweep_task.ts";
export * from "./sweep_slurm.ts";
export * from "./sweep_k8s.ts";
export {
  followSweep,
  openSweep,
  refreshSweep,
  runSweep,
  type RunSweepOptions,
  type SweepBackend,
  type SweepResult,
  sweepStatus,
} from "./sweep.ts";
