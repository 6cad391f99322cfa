/**
 * The study layer: sweeps (a grid of experiments × seeds × models × options, run locally, as a Slurm job
 * array, or emitted as a Kubernetes Indexed Job), their manifests and tasks.
 * @module
 */
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
