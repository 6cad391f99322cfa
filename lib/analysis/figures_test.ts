import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";
import { dashboardFigures } from "./dashboard.ts";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import { finalRewardBars, heldOutBars, zeroBasedRange } from "./bars.ts";
import { markCaveats } from "./dashboard.ts";
import { curveFigure, ema, groupCurves, mixedRewardScales, rewardCurves, trainingAxis } from "./figures.ts";
import { gridLayout, rewardFunctionGrid } from "./reward_figures.ts";
import type { PairedComparison } from "./paired.ts";
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
      { experiment: "math_hard", seed: seed },
    ));
  }
  rows.push(
    ...rowsOf(fakeMetrics({ experiment: "dialogue_hard", seed: 0, steps: 10, evalMetric: null }), {
      experiment: "dialogue_hard",
      seed: 0,
      source: "trl",
    }),
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
  assertAlmostEquals(s.hi[0], 3, { tol: 1e-12 }); // mean 2 + sample std 1
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

Deno.test("bar charts carry the CI as asymmetric error bars, one panel per experiment, y axes from zero covering the interval", () => {
  const es = experimentStats(runStats(table(), { window: 3 }), { seed: 0 });
  const fr = finalRewardBars(es);
  assertEquals(fr.data.length, 2); // own panel (and axis) per experiment: reward scales differ
  const bar = fr.data[0] as { x: string[]; y: number[]; error_y: { array: number[]; arrayminus: number[] } };
  assertEquals(bar.x, ["math_hard"]);
  assertEquals(fr.data[1].yaxis, "y2");
  assertAlmostEquals(bar.y[0], es[0].rewardEnd.estimate, { tol: 1e-12 });
  assertAlmostEquals(bar.error_y.array[0], es[0].rewardEnd.hi - es[0].rewardEnd.estimate, { tol: 1e-12 });
  assertAlmostEquals(bar.error_y.arrayminus[0], es[0].rewardEnd.estimate - es[0].rewardEnd.lo, {
    tol: 1e-12,
  });
  assert(bar.error_y.array[0] > 0);
  const [lo, hi] = (fr.layout.yaxis as { range: number[] }).range;
  assertEquals(lo, 0);
  assert(hi >= es[0].rewardEnd.hi, `${hi}`);
  const ho = heldOutBars(es);
  const hb = ho.data[0] as { x: string[]; y: number[] };
  assertEquals(hb.x, ["math_hard"]);
  assertAlmostEquals(hb.y[0], 100 * es[0].heldOutDelta!.estimate, { tol: 1e-9 }); // accuracy in points
  const r = (ho.layout.yaxis as { range: number[] }).range;
  assert(r[0] <= 0 && r[1] >= 100 * es[0].heldOutDelta!.hi, JSON.stringify(r));
  // A 59–62 accuracy never fills the panel: the range reaches zero.
  assertEquals(zeroBasedRange([59], [62])[0], 0);
  assert(zeroBasedRange([-3], [5])[0] < -3);
});

Deno.test("heldOutBars uses the paired per-problem interval when the evaluation log has one", () => {
  const es = experimentStats(runStats(table(), { window: 3 }), { seed: 0 });
  const paired: PairedComparison = {
    source: "ours",
    a: "math_hard",
    b: "base model",
    metric: "accuracy",
    diff: { estimate: 0.03, lo: -0.04, hi: 0.1, n: 100 },
    seeds: [0],
    fallback: { count: 0, of: 0 },
  };
  const spec = heldOutBars(es, { paired: [paired] });
  const bar = spec.data[0] as { y: number[]; text: string[]; error_y: { arrayminus: number[] } };
  assertAlmostEquals(bar.y[0], 3, { tol: 1e-9 });
  assertAlmostEquals(bar.error_y.arrayminus[0], 7, { tol: 1e-9 });
  assertEquals(bar.text[0], "paired 95% CI over 100 problems");
});

Deno.test("runs of different lengths share a fraction-of-training axis; mixed reward scales are normalized", () => {
  const rows: MetricRow[] = [
    ...rowsOf(fakeMetrics({ experiment: "math_hard", seed: 0, steps: 15, rewards: { h: (s) => 2 * s } }), {
      experiment: "math_hard",
      seed: 0,
    }),
    ...rowsOf(
      fakeMetrics({
        experiment: "math_perplexity",
        seed: 0,
        steps: 100,
        rewards: { p: (s) => 2.4 + 0.001 * s },
      }),
      { experiment: "math_perplexity", seed: 0, source: "trl" },
    ),
  ];
  const t = tableFromRows(rows);
  assertEquals(trainingAxis(t), "fraction");
  assertEquals(trainingAxis(table()), "step");
  const spec = rewardCurves(t, { smoothing: 0 });
  assert((spec.layout.xaxis as { title: { text: string } }).title.text.startsWith("fraction of training"));
  const lines = spec.data.filter((d) => d.name) as { x: number[]; y: number[] }[];
  for (const l of lines) {
    assertAlmostEquals(Math.max(...l.x), 1, { tol: 1e-12 });
    assert(Math.min(...l.y) >= 0 && Math.max(...l.y) <= 1 + 1e-12);
  }
  assert(mixedRewardScales(t) && mixedRewardScales(table()));
  assert(!mixedRewardScales(tableFromRows(rows.filter((r) => r.experiment === "math_hard"))));
  assert((spec.layout.title as { text: string }).text.includes("normalized per experiment"));
  const grid = rewardFunctionGrid(t);
  assertEquals((grid.layout.xaxis5 as { title: { text: string } }).title.text, "fraction of training");
});

Deno.test("markCaveats names the judge fallback in trace names, bar labels, panel titles and a note", () => {
  const es = experimentStats(runStats(table(), { window: 3 }), { seed: 0 });
  const c = new Map([[
    "trl/dialogue_hard",
    "judge fallback: 100% of training judge calls came from the local fallback",
  ]]);
  const curve = curveFigure(table(), "reward");
  markCaveats(curve, c);
  assert(curve.data.some((d) => d.name === "dialogue_hard (TRL log) ⚠ judge fallback"));
  assert(
    (curve.layout.title as { text: string }).text.includes("⚠ dialogue_hard (TRL log): judge fallback: 100%"),
  );
  const bars = finalRewardBars(es);
  markCaveats(bars, c);
  assertEquals((bars.data[1] as { x: string[] }).x, ["dialogue_hard (TRL log) ⚠ judge fallback"]);
  const grid = rewardFunctionGrid(table());
  markCaveats(grid, new Map([["ours/math_hard", "judge fallback: x"]]));
  assert(
    (grid.layout.annotations as { text: string }[]).some((a) =>
      a.text === "<b>math_hard</b> ⚠ judge fallback"
    ),
  );
  const plain = curveFigure(table(), "kl");
  markCaveats(plain, new Map([["ours/other", "judge fallback: y"]]));
  assert(!(plain.layout.title as { text: string }).text.includes("⚠"));
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

Deno.test("dashboardFigures: every eval/* metric gets its held-out figure (not judge counters or interval bounds)", () => {
  const evalRow = (s: number) => s % 10 === 0;
  const recs = fakeMetrics({ experiment: "math_hard", seed: 0, steps: 20 }).map((r) =>
    evalRow(r.step)
      ? {
        ...r,
        "eval/accuracy_lenient": 0.5,
        "eval/format_rate": 0.9,
        "eval/mean_at_k": 0.4,
        "eval/mean_at_k_ci_low": 0.3,
        "eval/mean_at_k_ci_high": 0.5,
        "eval/judge_calls": 3,
      }
      : r
  );
  const d = dashboardFigures(tableFromRows(rowsOf(recs, { experiment: "math_hard", seed: 0 })));
  const ids = d.figures.map((f) => f.id).filter((id) =>
    id.startsWith("held_out_") && !id.includes("improvement")
  );
  assertEquals(ids, [
    "held_out_accuracy",
    "held_out_accuracy_lenient",
    "held_out_format_rate",
    "held_out_mean_at_k",
  ]);
  const fr = d.figures.find((f) => f.id === "held_out_format_rate")!;
  assertEquals((fr.spec.layout.yaxis as { rangemode: string }).rangemode, "tozero");
  assert((fr.spec.layout.yaxis as { title: { text: string } }).title.text.endsWith("points"));
});
