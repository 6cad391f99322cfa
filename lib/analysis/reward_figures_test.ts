import type { MetricsRow } from "../grpo/mod.ts";
import { EVAL_METRICS } from "../util/mod.ts";
import { assertEquals } from "../util/assert.ts";
import { liveRewardFigure } from "./reward_figures.ts";

Deno.test("liveRewardFigure: total, one line per reward function, held-out metric on the right axis", () => {
  const rows: MetricsRow[] = [
    { step: 0, [EVAL_METRICS.accuracy]: 0.1 },
    {
      step: 1,
      reward: 0.5,
      "rewards/math_hard/mean": 0.25,
      "rewards/format/mean": 0.25,
      "rewards/format/std": 0,
    },
    {
      step: 2,
      reward: 1,
      "rewards/math_hard/mean": 0.5,
      "rewards/format/mean": 0.5,
      [EVAL_METRICS.accuracy]: 0.3,
    },
  ];
  const spec = liveRewardFigure(rows, { experiment: "math_hard", title: "math_hard: step 2/2" });
  assertEquals(spec.data.map((t) => t.name), [
    "total reward",
    "format",
    "math_hard",
    `${EVAL_METRICS.accuracy} (right axis)`,
  ]);
  assertEquals([spec.data[0].x, spec.data[0].y], [[1, 2], [0.5, 1]]);
  assertEquals([spec.data[3].x, spec.data[3].y, spec.data[3].yaxis], [[0, 2], [0.1, 0.3], "y2"]);
  assertEquals((spec.layout.title as { text: string }).text, "math_hard: step 2/2");
  assertEquals((spec.layout.yaxis2 as { title: { text: string } }).title.text, EVAL_METRICS.accuracy);
  const empty = liveRewardFigure([]);
  assertEquals([empty.data.length, "yaxis2" in empty.layout], [0, false]);
});
