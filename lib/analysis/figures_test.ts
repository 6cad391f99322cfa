import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";
import { dashboardFigures } from "./dashboard.ts";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import {
  curveFigure,
  ema,
  finalRewardBars,
  gridLayout,
  groupCurves,
  heldOutBars,
  rewardFunctionGrid,
} from "./figures.ts";
import { experimentStats, runStats } from "./stats.ts";
import { type MetricRow, tableFromRows } from "./table.ts";

function table(): ReturnType<typeof tableFromRows> {
  const rows: MetricRow[] = [];
  for (const seed of [0, 1, 2]) {
    rows.push(...rowsOf(
      fakeMetrics({
        experiment: "math_hard",
        seed,
        steps: 10,
        noise: 0,
        rewards: { acc: (s) => s + seed, fmt: () => 0.5 },
        extra: { kl: (s) => 0.01 * s },
      }),
      "math_hard",
      seed,
    ));
  }
  rows.push(
    ...rowsOf(
      fakeMetrics({ experiment: "dialogue_hard", seed: 0, steps: 10, evalMetric: null }),
      "dialogue_hard",
      0,
      "trl",
    ),
  );
  return tableFromRows(rows);
}

Deno.test("ema: known values, weight 0 is the identity", () => {
  assertEquals(ema([1, 3, 5], 0), [1, 3, 5]);
  const e = ema([0, 10, 10], 0.5);
  assertEquals(e, [0, 5, 7.5]);
  assertEquals(ema([], 0.8), []);
});

Deno.test("groupCurves: per-seed smoothing, then min–max or ±std band across seeds", () => {
  const t = table();
  const [c] = groupCurves(t, "rewards/acc/mean", { smoothing: 0 });
  assertEquals([c.experiment, c.seeds, c.steps.length], ["math_hard", 3, 10]);
  assertEquals(c.steps[0], 1);
  assertEquals([c.lo[0], c.mean[0], c.hi[0]], [1, 2, 3]); // seeds give 1, 2, 3 at step 1
  const [s] = groupCurves(t, "rewards/acc/mean", { smoothing: 0, band: "std" });
  assertAlmostEquals(s.hi[0], 3, 1e-12); // mean 2 + sample std 1
  const [r] = groupCurves(t, "reward", { smoothing: 0, scale: 10 });
  assertEquals(r.mean[0], 25); // (step + seed + 0.5) · 10 averaged over seeds
});

Deno.test("curveFigure: band traces for several seeds, one line for one seed, TRL dashed beside ours", () => {
  const spec = curveFigure(table(), "reward", { smoothing: 0.5 });
  const names = spec.data.filter((d) => d.name).map((d) => d.name);
  assertEquals(names, ["math_hard (3 seeds)", "dialogue_hard (TRL log)"]);
  assertEquals(spec.data.filter((d) => d.fill === "tonexty").length, 1);
  const trl = spec.data.find((d) => d.name === "dialogue_hard (TRL log)")!;
  assertEquals((trl.line as { dash: string }).dash, "dash");
  assertEquals((spec.layout.title as { text: string }).text, "reward, EMA 0.5");
  JSON.parse(JSON.stringify(spec)); // plain JSON
});

Deno.test("gridLayout: the six experiments fill a 3×2 grid; other ids two per row", () => {
  assertEquals(gridLayout(["math_hard", "dialogue_perplexity"]).order.length, 6);
  assertEquals(gridLayout(["math_hard"]).rows, 3);
  assertEquals(gridLayout(["a", "b", "c"]), { rows: 2, cols: 2, order: ["a", "b", "c"] });
});

Deno.test("rewardFunctionGrid: one subplot per experiment, empty panels marked", () => {
  const spec = rewardFunctionGrid(table());
  assertEquals((spec.layout.grid as { rows: number; columns: number }).rows, 3);
  for (let i = 2; i <= 6; i++) assert(spec.layout[`xaxis${i}`] && spec.layout[`yaxis${i}`], `axis ${i}`);
  const titles = (spec.layout.annotations as { text: string }[]).map((a) => a.text);
  assertEquals(titles.filter((t) => t.startsWith("<b>")).length, 6);
  assertEquals(titles.filter((t) => t === "no data").length, 4);
  const named = spec.data.filter((d) => d.name && d.xaxis === "x").map((d) => d.name);
  assertEquals(named, ["total reward", "acc", "fmt"]);
  assert(spec.data.some((d) => d.xaxis === "x2" && d.name === "total reward (TRL log)"));
});

Deno.test("bar charts carry the bootstrap CI as asymmetric error bars", () => {
  const es = experimentStats(runStats(table(), { window: 3 }), { seed: 0 });
  const fr = finalRewardBars(es);
  const bar = fr.data[0] as { x: string[]; y: number[]; error_y: { array: number[]; arrayminus: number[] } };
  assertEquals(bar.x, ["math_hard", "dialogue_hard (TRL log)"]);
  assertAlmostEquals(bar.y[0], es[0].rewardEnd.estimate, 1e-12);
  assertAlmostEquals(bar.error_y.array[0], es[0].rewardEnd.hi - es[0].rewardEnd.estimate, 1e-12);
  assertAlmostEquals(bar.error_y.arrayminus[0], es[0].rewardEnd.estimate - es[0].rewardEnd.lo, 1e-12);
  assert(bar.error_y.array[0] > 0);
  const ho = heldOutBars(es).data[0] as { x: string[]; y: number[] };
  assertEquals(ho.x, ["math_hard"]);
  assertAlmostEquals(ho.y[0], 100 * es[0].heldOutDelta!.estimate, 1e-9); // accuracy in points
});

Deno.test("dashboardFigures: figures with data, the rest omitted with a reason", () => {
  const d = dashboardFigures(table());
  assertEquals(d.figures.map((f) => f.id), [
    "reward",
    "reward_functions",
    "kl",
    "held_out_accuracy",
    "final_reward",
    "held_out_improvement_eval_accuracy",
  ]);
  assertEquals(d.omitted.map((o) => o.id), ["entropy", "length", "judge_fallback", "timing"]);
  assertEquals(d.omitted[2].reason, "no run logged judge/fallback_frac");
  for (const f of d.figures) assert(f.spec.data.length > 0, f.id);
});
