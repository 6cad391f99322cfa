/**
 * Where a run's time goes: the per-step `timing/*` metrics (rollout = sampling + no-grad passes, reward
 * scoring, the optimizer step, held-out evaluation) as one stacked bar per experiment, mean seconds per
 * step over steps and seeds.
 * @module
 */
import type { PlotSpec } from "./figures.ts";
import { type ColumnTable, groupLabel, runsOf } from "./table.ts";

/** The phases, in stacking order, with their colors. */
export const TIMING_PHASES = [
  { metric: "timing/rollout_s", name: "rollout (sampling + no-grad passes)", color: "#4c78a8" },
  { metric: "timing/reward_s", name: "rewards", color: "#f58518" },
  { metric: "timing/train_s", name: "optimizer step", color: "#54a24b" },
  { metric: "timing/eval_s", name: "held-out evaluation", color: "#b279a2" },
] as const;

/** Mean seconds per step of each phase per (source, experiment); null when no run logged `timing/*`. */
export function timingSplitFigure(table: ColumnTable): PlotSpec | null {
  const runs = runsOf(table).filter((r) => r.metrics.has("timing/train_s"));
  if (!runs.length) return null;
  const groups = new Map<string, typeof runs>();
  for (const r of runs) {
    const k = groupLabel(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const labels = [...groups.keys()];
  const perStep = (rs: typeof runs, metric: string) => {
    // steps that trained (timing/train_s logged); a missing phase counts 0 s
    let sum = 0, n = 0;
    for (const r of rs) {
      const train = r.metrics.get("timing/train_s")!, s = r.metrics.get(metric);
      const at = new Map(s ? s.steps.map((st, i) => [st, s.values[i]]) : []);
      for (const st of train.steps) sum += at.get(st) ?? 0, n++;
    }
    return n ? sum / n : 0;
  };
  return {
    data: TIMING_PHASES.map((p) => ({
      type: "bar",
      name: p.name,
      x: labels,
      y: labels.map((l) => perStep(groups.get(l)!, p.metric)),
      marker: { color: p.color },
      hovertemplate: `%{x}: %{y:.2f} s per step (${p.name})<extra></extra>`,
    })),
    layout: {
      title: { text: "Where a step's time goes (mean seconds per step)" },
      barmode: "stack",
      yaxis: { title: { text: "seconds per step" } },
      xaxis: { automargin: true },
      legend: { orientation: "h" },
    },
  };
}
