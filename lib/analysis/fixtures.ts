/**
 * Synthetic runs in our trainer's output layout, for tests and demos of the analysis code
 * (never presented as results). Deterministic: values come from a seeded {@linkcode Rng}.
 * @module
 */
import { join } from "node:path";
import { Rng, runFile, writeFileAtomic, writeJsonAtomic } from "../util/mod.ts";
import type { MetricRow, Source } from "./table.ts";

/** Shape of a synthetic run. */
export interface FakeRunOptions {
  /** Experiment id. */
  experiment: string;
  /** Seed (also seeds the noise). */
  seed: number;
  /** Steps 1..steps (default 20). */
  steps?: number;
  /** Reward functions: name → value at a step (noise is added unless `noise` is 0). */
  rewards?: Record<string, (step: number) => number>;
  /** Noise std added to each reward (default 0.05); logged reward stds are 0.1 + noise. */
  noise?: number;
  /** Held-out metric name (default "eval/accuracy"; null for none). */
  evalMetric?: string | null;
  /** Held-out value at a step (default 0.3 + 0.002·step). */
  evalValue?: (step: number) => number;
  /** Evaluate every this many steps, plus step 0 (default 10). */
  evalEvery?: number;
  /** Extra per-step metrics: name → value at a step. */
  extra?: Record<string, (step: number) => number>;
  /** Extra held-out metrics logged at each evaluation step (step 0 included): name → value at a step. */
  evalExtra?: Record<string, (step: number) => number>;
  /** Resolved options written to run_config.json's `config` (default `{ steps, max_steps: steps }`). */
  config?: Record<string, unknown>;
}

/** The step records of a synthetic run (as our trainer writes to metrics.jsonl). */
export function fakeMetrics(opts: FakeRunOptions): Record<string, number>[] {
  const rng = new Rng(opts.seed * 7919 + 1);
  const steps = opts.steps ?? 20, noise = opts.noise ?? 0.05, every = opts.evalEvery ?? 10;
  const rewards = opts.rewards ?? { correctness: (s: number) => 0.5 + 0.01 * s };
  const evalMetric = opts.evalMetric === undefined ? "eval/accuracy" : opts.evalMetric;
  const evalValue = opts.evalValue ?? ((s: number) => 0.3 + 0.002 * s);
  const rows: Record<string, number>[] = [];
  for (let step = 0; step <= steps; step++) {
    const row: Record<string, number> = { step };
    const isEval = evalMetric !== null && step % every === 0;
    if (step === 0 && !isEval) continue;
    if (step > 0) {
      let total = 0;
      for (const [name, f] of Object.entries(rewards)) {
        const v = f(step) + (noise ? noise * rng.normal() : 0);
        row[`rewards/${name}/mean`] = v;
        row[`rewards/${name}/std`] = 0.1 + Math.abs(noise);
        total += v;
      }
      row.reward = total;
      row.reward_std = 0.1 + Math.abs(noise);
      for (const [name, f] of Object.entries(opts.extra ?? {})) row[name] = f(step);
    }
    if (isEval) {
      row[evalMetric!] = evalValue(step);
      for (const [name, f] of Object.entries(opts.evalExtra ?? {})) row[name] = f(step);
    }
    rows.push(row);
  }
  return rows;
}

/** Writes `<root>/<experiment>/seed_<seed>/{run_config.json,metrics.jsonl}`; returns the run folder. */
export async function writeFakeRun(root: string, opts: FakeRunOptions): Promise<string> {
  const dir = join(root, opts.experiment, `seed_${opts.seed}`);
  await writeJsonAtomic(runFile(dir, "runConfig"), {
    experiment: opts.experiment,
    seed: opts.seed,
    config: opts.config ?? { steps: opts.steps ?? 20, max_steps: opts.steps ?? 20 },
    versions: { fixture: 1 },
  });
  await writeFileAtomic(
    runFile(dir, "metrics"),
    fakeMetrics(opts).map((r) => JSON.stringify(r) + "\n").join(""),
  );
  return dir;
}

/** Tidy rows of step records (as {@linkcode fakeMetrics} returns) for one run. */
export function rowsOf(
  records: Record<string, number>[],
  { experiment, seed, source = "ours" }: { experiment: string; seed: number; source?: Source },
): MetricRow[] {
  return records.flatMap((r) =>
    Object.entries(r).filter(([k]) => k !== "step").map(([metric, value]) => ({
      source,
      experiment,
      seed,
      step: r.step,
      metric,
      value,
    }))
  );
}
