/**
 * The study's status and run-all: {@linkcode experimentStatus} says which of the six experiments (per
 * seed) exist in an output folder and the command that produces each missing one, {@linkcode runAllExperiments}
 * runs them all (per seed) as one sweep (here or on Slurm), {@linkcode sweepLines} lists a sweep's runs and
 * states, and {@linkcode resolveTrlLogs} finds the shared TRL logs. Run folders are read through lib/util's
 * run-folder module.
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GRPO_DEFAULTS, REPO_ROOT } from "../grpo/mod.ts";
import { defaultOutputDir, findRunDirs, readRunSummary, type RunSummary, UserError } from "../util/mod.ts";
import { EXPERIMENT_IDS, runExperiment } from "./experiments.ts";
import { runLines, summaryLine } from "./sweep_manifest.ts";
import { checkSlurmOptions, type SlurmOptions } from "./sweep_slurm.ts";
import { runSweep, type SweepBackend, sweepStatus } from "./sweep.ts";

/** One run found in an output folder (see lib/util `RunSummary`). */
export type RunStatus = RunSummary;

/** Which experiments exist in an output folder, and what to run for the rest. */
export interface ExperimentStatus {
  /** Every run found (all experiments and seeds, wanted or not), in folder order. */
  runs: RunStatus[];
  /** (experiment, seed) pairs with no run, each with the command that produces it. */
  missing: { experiment: string; seed: number; command: string }[];
  /** Wanted runs that stopped before max_steps, each with the command that resumes it. */
  incomplete: { run: RunStatus; command: string }[];
}

/** The folder {@linkcode runAllExperiments} uses for (id, seed): `<outputsDir>/<id>_seed<seed>`, for every seed. */
export function seedOutputDir(id: string, options: { seed: number; outputsDir: string }): string {
  return defaultOutputDir(id, options.seed, { outputsDir: options.outputsDir });
}

/** `deno task experiment <id>` with the `--param`s that reproduce a run of `seed` in `outputDir` (or resume it). */
export function experimentCommand(
  id: string,
  options: { seed?: number; outputDir?: string; resume?: boolean } = {},
): string {
  const parts = [`deno task experiment ${id}`];
  const seed = options.seed ?? GRPO_DEFAULTS.seed;
  if (seed !== GRPO_DEFAULTS.seed) parts.push(`--param seed=${seed}`);
  if (options.outputDir !== undefined) {
    const abs = resolve(options.outputDir);
    const rel = relative(REPO_ROOT, abs);
    const shown = rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs;
    if (shown !== defaultOutputDir(id, seed)) parts.push(`--param output_dir=${shown}`);
  }
  if (options.resume) parts.push("--param resume_from_checkpoint=latest");
  return parts.join(" ");
}

/**
 * Scans `outputsDir` for runs and reports, for each of the six experiments and each seed (default: the
 * default seed), whether a run exists, is complete, or is missing (with its command). A missing folder
 * means every experiment is missing.
 */
export async function experimentStatus(
  outputsDir: string,
  options: { seeds?: readonly number[] } = {},
): Promise<ExperimentStatus> {
  const seeds = options.seeds ?? [GRPO_DEFAULTS.seed];
  for (const s of seeds) {
    if (!Number.isInteger(s)) throw new UserError(`seeds: ${JSON.stringify(s)} is not an integer`);
  }
  const exists = existsSync(outputsDir) && statSync(outputsDir).isDirectory();
  const runs: RunStatus[] = [];
  if (exists) { for (const d of await findRunDirs(outputsDir)) runs.push(await readRunSummary(d)); }
  const missing: ExperimentStatus["missing"] = [];
  const incomplete: ExperimentStatus["incomplete"] = [];
  for (const id of EXPERIMENT_IDS) {
    for (const seed of seeds) {
      const found = runs.filter((r) => r.experiment === id && r.seed === seed);
      if (!found.length) {
        missing.push({
          experiment: id,
          seed,
          command: experimentCommand(id, {
            seed,
            outputDir: seedOutputDir(id, { seed, outputsDir: outputsDir }),
          }),
        });
      } else if (!found.some((r) => r.complete)) {
        const run = found[0];
        incomplete.push({ run, command: experimentCommand(id, { seed, outputDir: run.dir, resume: true }) });
      }
    }
  }
  return { runs, missing, incomplete };
}

/** Lines describing a status: what was found, what is missing (with commands), what stopped early. */
export function statusLines(status: ExperimentStatus, options: { relativeTo?: string } = {}): string[] {
  const show = (p: string) => (options.relativeTo ? relative(options.relativeTo, p) || "." : p);
  const lines = status.runs.map((r) =>
    `found ${r.experiment} seed ${r.seed}: ${r.steps}/${r.maxSteps} steps${
      r.complete ? "" : " (incomplete)"
    } in ${show(r.dir)}`
  );
  if (!status.runs.length) lines.push("no runs found");
  for (const m of status.missing) lines.push(`missing ${m.experiment} seed ${m.seed}: ${m.command}`);
  for (const i of status.incomplete) {
    lines.push(`incomplete ${i.run.experiment} seed ${i.run.seed}: resume with ${i.command}`);
  }
  if (!status.missing.length && !status.incomplete.length) lines.push("all wanted experiments are present");
  return lines;
}

/** Options of {@linkcode runAllExperiments}. */
export interface RunAllOptions {
  /** Seeds (default: the default seed). */
  seeds?: readonly number[];
  /** Options given to every experiment (e.g. `{ max_steps: 40 }`); seed and output_dir are set per run. */
  params?: Record<string, unknown>;
  /** Experiments to run (default: every experiment of the table). */
  ids?: readonly string[];
  /** Folder that a relative `outputsDir` is resolved from (default: the working folder). */
  cwd?: string;
  /** Print progress lines (default true). */
  print?: boolean;
  /** Local: trains one run in this process and returns its folder (default: `runExperiment` with the params). */
  runOne?: (id: string, params: Record<string, unknown>) => Promise<string>;
  /**
   * "local" (default): one run after another in this process; "slurm": one `sbatch` job array, followed
   * until every run is done or failed.
   */
  backend?: SweepBackend;
  /** Slurm options (partition, time, cpus_per_task, mem, gres, sbatch_lines, max_parallel); checked. */
  slurm?: SlurmOptions | Record<string, unknown>;
  /** Slurm: seconds between polls (default 5). */
  poll?: number;
}

/**
 * Runs every experiment for every seed as one sweep in `outputsDir` (`sweep.json` and one folder per run,
 * `<experiment>_seed<seed>`), here or on Slurm. Complete runs are kept, stopped ones resume from their
 * latest checkpoint; a different grid in the same folder replaces the manifest (runs keep their folders).
 * Returns the run folders; runs not done → UserError listing them with their reasons.
 */
export async function runAllExperiments(outputsDir: string, options: RunAllOptions = {}): Promise<string[]> {
  for (const k of ["seed", "output_dir"]) {
    if (options.params && k in options.params) {
      throw new UserError(`runAllExperiments: params.${k} is set per run; give seeds / outputsDir instead`);
    }
  }
  const spec = {
    experiments: [...(options.ids ?? EXPERIMENT_IDS)],
    seeds: [...(options.seeds ?? [GRPO_DEFAULTS.seed])],
    params: options.params ?? {},
    output_dir: resolve(options.cwd ?? Deno.cwd(), outputsDir),
  };
  const backend = options.backend ?? "local";
  const runOne = options.runOne ??
    (async (id: string, params: Record<string, unknown>) => (await runExperiment(id, { params })).outputDir);
  const { dir, manifest } = await runSweep(spec, {
    backend,
    resume: true,
    replace: true,
    slurm: checkSlurmOptions(options.slurm ?? {}),
    poll: options.poll,
    log: options.print === false ? () => {} : undefined,
    runOne: backend === "local"
      ? async (run, params) => void await runOne(run.experiment, params)
      : undefined,
  });
  const notDone = manifest.runs.filter((r) => r.state !== "done");
  if (notDone.length) {
    throw new UserError(
      `runAllExperiments: ${notDone.length} of ${manifest.runs.length} runs not done: ${
        notDone.map((r) => `${r.id} ${r.state}${r.reason ? ` (${r.reason})` : ""}`).join("; ")
      }`,
    );
  }
  return manifest.runs.map((r) => join(dir, r.dir));
}

/**
 * When `outputsDir` holds a sweep (`sweep.json`): one line per run with its fresh state (Slurm's view when
 * it ran there) and a summary line; else no lines.
 */
export async function sweepLines(outputsDir: string, options: { cwd?: string } = {}): Promise<string[]> {
  const dir = resolve(options.cwd ?? Deno.cwd(), outputsDir);
  if (!existsSync(join(dir, "sweep.json"))) return [];
  const m = await sweepStatus(dir);
  return [...runLines(m.runs).map((l) => `sweep: ${l}`), `sweep (${m.backend}): ${summaryLine(m.runs)}`];
}

/** The shared TRL logs (`shared/data/trl-logs` beside the repository). */
export const SHARED_TRL_LOGS: string = fileURLToPath(
  new URL("../../../shared/data/trl-logs", import.meta.url),
);

/**
 * The TRL log folder a notebook parameter names: `"auto"` → the shared TRL logs when they exist, else
 * null; null or `""` → null; a path (from `cwd`) that does not exist → UserError.
 */
export function resolveTrlLogs(value: string | null, options: { cwd?: string } = {}): string | null {
  if (value === null || value === "") return null;
  if (value === "auto") return existsSync(SHARED_TRL_LOGS) ? SHARED_TRL_LOGS : null;
  const abs = resolve(options.cwd ?? Deno.cwd(), value);
  if (!existsSync(abs)) {
    throw new UserError(`parameter trl_logs = ${JSON.stringify(value)}: ${abs} does not exist`);
  }
  return abs;
}
