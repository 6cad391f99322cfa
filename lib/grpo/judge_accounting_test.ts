import { assertEquals } from "../util/assert.ts";
import {
  isEvalJudgeCounter,
  JUDGE_SUMMED_METRICS,
  judgeCounterMetrics,
  judgeStepMetrics,
  judgeStepReader,
  type JudgeStepStats,
} from "./judge_accounting.ts";
import { RowAverager } from "./logging.ts";

Deno.test("judgeStepMetrics: judge/* counters in order, those a judge does not keep left out, fallback share", () => {
  const full = { calls: 4, ok: 2, fallbacks: 1, cacheHits: 1, errors: 3, retries: 2, latencyMs: 12 };
  const m = judgeStepMetrics(full);
  assertEquals(Object.keys(m), [
    "judge/calls",
    "judge/ok",
    "judge/fallbacks",
    "judge/cache_hits",
    "judge/errors",
    "judge/retries",
    "judge/fallback_frac",
    "judge/latency_ms",
  ]);
  assertEquals([m["judge/cache_hits"], m["judge/fallback_frac"], m["judge/latency_ms"]], [1, 0.25, 12]);
  const bare = judgeStepMetrics({ calls: 0, errors: 0, fallbacks: 0, latencyMs: 0 });
  assertEquals(Object.keys(bare).length, 5);
  assertEquals(bare["judge/fallback_frac"], 0, { msg: "no calls: no fallback share, not NaN" });
  assertEquals(
    judgeCounterMetrics(full, { prefix: "eval/judge_" })["eval/judge_cache_hits"],
    1,
  );
});

Deno.test("judge counters are summed over logging_steps; evaluation counters stay off progress lines", () => {
  const a = new RowAverager();
  a.add({ step: 1, ...judgeStepMetrics({ calls: 2, errors: 1, fallbacks: 0, latencyMs: 10 }) });
  a.add({ step: 2, ...judgeStepMetrics({ calls: 4, errors: 0, fallbacks: 2, latencyMs: 20 }) });
  const row = a.flush()!;
  assertEquals([row["judge/calls"], row["judge/errors"], row["judge/fallbacks"]], [6, 1, 2]);
  assertEquals(row["judge/latency_ms"], 15, { msg: "latency is averaged" });
  assertEquals(JUDGE_SUMMED_METRICS.includes("judge/latency_ms"), false);
  assertEquals(
    ["eval/judge_calls", "judge/master_key_retries", "eval/judge_score", "judge/calls"].map(
      isEvalJudgeCounter,
    ),
    [true, true, false, false],
  );
});

Deno.test("judgeStepReader: reset before the step, read after; null without a judge", () => {
  let stats: JudgeStepStats = { calls: 5, errors: 0, fallbacks: 0, latencyMs: 1 };
  const reader = judgeStepReader({
    stats: () => stats,
    resetStats: () => (stats = { calls: 0, errors: 0, fallbacks: 0, latencyMs: 0 }),
  });
  reader.reset();
  assertEquals(reader.read()!.calls, 0);
  const none = judgeStepReader();
  none.reset();
  assertEquals(none.read(), null);
});
