/**
 * The description of a sweep: experiments × seeds × models × option overrides, checked once, and expanded
 * into runs with stable ids. One description serves `deno task sweep` (any backend) and the Comparison
 * notebook's `run_all`.
 *
 * A run's id is `<experiment>[_<model>][_<option>-<value>…]_seed<seed>`: the model part only when the
 * sweep names models, one part per `grid` option, so the id depends on the run's own values and not on
 * its position in the grid. Each run trains into `<sweep folder>/<id>/`.
 * @module
 */
import { basename, resolve } from "node:path";
import { checkOptionName, CONFIG_KEYS } from "../grpo/mod.ts";
import { runFolderName } from "../util/mod.ts";
import { EXPERIMENT_IDS, experimentConfig, getExperiment } from "./experiments.ts";
import { UserError } from "../util/mod.ts";

/** A sweep: the grid and where it goes. */
export interface SweepSpec {
  /** Experiment ids (from the experiments table). */
  experiments: string[];
  /** Seeds; every experiment runs once per seed (and model, and grid point). Default {@linkcode DEFAULT_SWEEP_SEEDS}. */
  seeds: number[];
  /** Models (folders or hub ids); empty or absent: each experiment's default model, and no model part in ids. */
  models?: string[];
  /** Options given to every run (experiment option names). */
  params?: Record<string, unknown>;
  /** Options swept: each name's values are crossed with everything else. */
  grid?: Record<string, unknown[]>;
  /** The sweep folder: `sweep.json`, `logs/` and one folder per run. */
  output_dir: string;
}

/** One run of a sweep. */
export interface SweepRun {
  /** Position in the sweep (the Slurm array index, the Kubernetes completion index). */
  index: number;
  /** Stable id, also the run folder's name. */
  id: string;
  /** Experiment id. */
  experiment: string;
  /** Seed. */
  seed: number;
  /** Model, or null for the experiment's default. */
  model: string | null;
  /** Every option the run sets (the sweep's params, its grid point, seed and model), without output_dir. */
  params: Record<string, unknown>;
}

/** The seeds of a sweep that names none: five, the study's default (issue 18). */
export const DEFAULT_SWEEP_SEEDS: readonly number[] = Object.freeze([1, 2, 3, 4, 5]);

/** Options a sweep sets per run itself; they cannot be given as params or grid. */
const PER_RUN = ["seed", "output_dir", "resume_from_checkpoint"];

const fail = (what: string): never => {
  throw new UserError(`sweep: ${what}`);
};

function stringList(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === "")) {
    fail(`${field} must be a list of non-empty strings, got ${JSON.stringify(v)}`);
  }
  return v as string[];
}

/** Checks a sweep description (from a file, flags or a notebook) and returns it normalized; one-line errors. */
export function checkSweepSpec(raw: unknown): SweepSpec {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) fail("the description must be a JSON object");
  const o = raw as Record<string, unknown>;
  const known = ["experiments", "seeds", "models", "params", "grid", "output_dir"];
  for (const k of Object.keys(o)) checkOptionName(k, { known, where: "sweep field" });
  const experiments = stringList(o.experiments ?? [], "experiments");
  if (!experiments.length) {
    fail(`the grid is empty: no experiments given (known: ${EXPERIMENT_IDS.join(", ")})`);
  }
  for (const e of experiments) getExperiment(e);
  const seeds = o.seeds ?? [...DEFAULT_SWEEP_SEEDS];
  if (!Array.isArray(seeds) || seeds.some((s) => !Number.isInteger(s))) {
    fail(`seeds must be a list of integers, got ${JSON.stringify(o.seeds)}`);
  }
  if (!(seeds as number[]).length) fail("the grid is empty: no seeds given");
  const models = stringList(o.models ?? [], "models");
  const params = (o.params ?? {}) as Record<string, unknown>;
  if (typeof params !== "object" || Array.isArray(params)) fail("params must be an object of options");
  const grid = (o.grid ?? {}) as Record<string, unknown[]>;
  if (typeof grid !== "object" || Array.isArray(grid)) fail("grid must be an object of option → values");
  for (const [where, obj] of [["params", params], ["grid", grid]] as const) {
    for (const k of Object.keys(obj)) {
      checkOptionName(k, { known: CONFIG_KEYS, where: `option in ${where}` });
      if (PER_RUN.includes(k)) {
        fail(
          `${where}.${k} is set per run by the sweep; give ${k === "seed" ? "seeds" : "output_dir"}`,
        );
      }
    }
  }
  for (const [k, vs] of Object.entries(grid)) {
    if (!Array.isArray(vs)) fail(`grid.${k} must be a list of values, got ${JSON.stringify(vs)}`);
    if (!vs.length) fail(`the grid is empty: grid.${k} has no values`);
    if (k in params) fail(`option ${k} is both in params and in grid`);
  }
  if (models.length && ("model" in params || "model" in grid)) {
    fail("give the model either in models or as an option, not both");
  }
  if (typeof o.output_dir !== "string" || o.output_dir === "") {
    fail("output_dir (the sweep folder) is required");
  }
  const spec: SweepSpec = {
    experiments: [...new Set(experiments)],
    seeds: [...new Set(seeds as number[])],
    ...(models.length ? { models: [...new Set(models)] } : {}),
    params,
    grid,
    output_dir: o.output_dir as string,
  };
  expandSweep(spec); // checks every run's options and that the ids are distinct
  return spec;
}

/** A file-name-safe rendering of a value for run ids. */
function slug(v: unknown): string {
  const s = typeof v === "string" ? basename(v.replace(/\/+$/, "")) : JSON.stringify(v);
  return s.replace(/[^A-Za-z0-9.+-]+/g, "-").replace(/^-+|-+$/g, "") || "x";
}

/** Every grid point, as option → value objects, in the grid's order (the last option varies fastest). */
function gridPoints(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const [k, vs] of Object.entries(grid)) {
    points = points.flatMap((p) => vs.map((v) => ({ ...p, [k]: v })));
  }
  return points;
}

/** The runs of a (checked) sweep, experiment-major, then model, grid point and seed; ids are stable. */
export function expandSweep(spec: SweepSpec): SweepRun[] {
  const runs: SweepRun[] = [];
  const models: (string | null)[] = spec.models?.length ? spec.models : [null];
  const seen = new Map<string, string>();
  for (const experiment of spec.experiments) {
    for (const model of models) {
      for (const point of gridPoints(spec.grid ?? {})) {
        for (const seed of spec.seeds) {
          const parts = [experiment];
          if (model !== null) parts.push(slug(model));
          for (const [k, v] of Object.entries(point)) parts.push(`${k}-${slug(v)}`);
          const id = runFolderName(parts.join("_"), seed);
          const params: Record<string, unknown> = { ...spec.params, ...point, seed };
          if (model !== null) params.model = model;
          const what = `${experiment} seed ${seed}${model ? ` model ${model}` : ""}${
            Object.keys(point).length ? ` ${JSON.stringify(point)}` : ""
          }`;
          if (seen.has(id)) fail(`runs "${seen.get(id)}" and "${what}" would share the id ${id}`);
          seen.set(id, what);
          try {
            experimentConfig(experiment, params);
          } catch (e) {
            if (e instanceof UserError) fail(`run ${id}: ${e.message}`);
            throw e;
          }
          runs.push({ index: runs.length, id, experiment, seed, model, params });
        }
      }
    }
  }
  return runs;
}

/** The sweep folder as an absolute path (relative ones from `cwd`). */
export function sweepFolder(spec: SweepSpec, cwd: string = Deno.cwd()): string {
  return resolve(cwd, spec.output_dir);
}
