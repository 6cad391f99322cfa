/**
 * The study layer: the six experiments and {@linkcode runExperiment} (data, rewards, judge and held-out
 * evaluation wired into the GRPO trainer), status and run-all over an output folder, the Testing
 * notebook's inputs (adapters found in run folders, fresh test sets), and the run-folder format (from
 * lib/util's run-folder module, which the trainer writes through). Evaluation (lib/eval) and analysis
 * (lib/analysis) sit at this level too.
 * @module
 */
export * from "./experiments.ts";
export * from "./status.ts";
export * from "./compare_inputs.ts";
export * from "../util/run_folder.ts";
