/**
 * The x axis of training curves: optimizer steps, or the fraction of each run's training when runs of
 * different lengths share a figure (our 15 steps against the original's 100).
 * @module
 */
import { type ColumnTable, runsOf } from "./table.ts";

/** Last logged step of each run (its length), keyed `source/experiment/seed`. */
export function runLengths(table: ColumnTable): Map<string, number> {
  const out = new Map<string, number>();
  for (const run of runsOf(table)) {
    let last = 0;
    for (const s of run.metrics.values()) last = Math.max(last, s.steps[s.steps.length - 1] ?? 0);
    out.set(`${run.source}/${run.experiment}/${run.seed}`, last);
  }
  return out;
}

/** "fraction" when the runs' lengths differ by half or more (longest ≥ 1.5 × shortest), else "step". */
export function trainingAxis(table: ColumnTable): "step" | "fraction" {
  const ls = [...runLengths(table).values()].filter((l) => l > 0);
  return ls.length > 1 && Math.max(...ls) >= 1.5 * Math.min(...ls) ? "fraction" : "step";
}

/** Title of the x axis. */
export function axisTitle(x: "step" | "fraction"): string {
  return x === "fraction" ? "fraction of training (step / last step; runs differ in length)" : "step";
}
