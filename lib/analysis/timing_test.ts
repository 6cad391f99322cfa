import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import { type MetricRow, tableFromRows } from "./table.ts";
import { TIMING_PHASES, timingSplitFigure } from "./timing.ts";

Deno.test("timingSplitFigure: stacked mean seconds per step and phase; absent without timing/*", () => {
  const rows: MetricRow[] = [];
  for (const seed of [0, 1]) {
    rows.push(...rowsOf(
      fakeMetrics({
        experiment: "math_hard",
        seed,
        steps: 4,
        noise: 0,
        extra: {
          "timing/rollout_s": () => 3 + seed,
          "timing/reward_s": () => 0.5,
          "timing/train_s": () => 2,
          "timing/eval_s": (s) => (s === 4 ? 8 : 0),
        },
      }),
      { experiment: "math_hard", seed: seed },
    ));
  }
  const f = timingSplitFigure(tableFromRows(rows))!;
  assertEquals(f.layout.barmode, "stack");
  assertEquals(f.data.map((d) => d.name), TIMING_PHASES.map((p) => p.name));
  const y = (i: number) => (f.data[i].y as number[])[0];
  assertAlmostEquals(y(0), 3.5, { tol: 1e-12 }); // seeds 0 and 1: 3 s and 4 s per step
  assertAlmostEquals(y(2), 2, { tol: 1e-12 });
  assertAlmostEquals(y(3), 2, { tol: 1e-12 }); // 8 s once in 4 steps
  assert(
    timingSplitFigure(
      tableFromRows(
        rowsOf(fakeMetrics({ experiment: "x", seed: 0, steps: 2 }), { experiment: "x", seed: 0 }),
      ),
    ) ===
      null,
  );
});
