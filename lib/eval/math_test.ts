import { join } from "node:path";
import { CausalLM } from "../model/mod.ts";
import { writeTinyChatModel } from "../grpo/testing.ts";
import { generateMathProblems } from "../data/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import {
  evaluateMath,
  followsMathFormat,
  formatAccuracy,
  formatMathReport,
  mathEvalMetrics,
  type MathEvaluation,
} from "./math.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "eval-math-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
await writeTinyChatModel(join(ROOT, "m"));
const model = await CausalLM.load(join(ROOT, "m"), { device: "cpu", threads: 1 });
const PROBLEMS = generateMathProblems(5, { seed: 3 });

Deno.test("followsMathFormat: reasoning then answer, both closed", () => {
  assert(followsMathFormat("<reasoning>\n1 + 1 = 2\n</reasoning>\n<answer>2</answer>"));
  assert(!followsMathFormat("1 + 1 = 2\n<answer>2</answer>"));
  assert(!followsMathFormat("<reasoning>x</reasoning>\nThe answer is 2."));
  assert(!followsMathFormat("<answer>2</answer><reasoning>x</reasoning>"));
});

Deno.test("evaluateMath: counts agree with the samples; greedy and seeded samples are reproducible", async () => {
  const r = await evaluateMath(model, PROBLEMS, { maxNewTokens: 6, samples: 3, seed: 1, batchSize: 4 });
  assertEquals(r.n, 5);
  assertEquals(r.k, 3);
  assertEquals(r.correct, r.samples.filter((s) => s.correct).length);
  assertEquals(r.lenient.correct, r.samples.filter((s) => s.correctLenient).length);
  assertEquals(r.format.correct, r.samples.filter((s) => s.formatted).length);
  assert(r.samples.every((s) => s.sampledCorrect! >= 0 && s.sampledCorrect! <= 3));
  assert(r.samples.every((s) => !s.correct || s.correctLenient), "strictly correct is leniently correct");
  const again = await evaluateMath(model, PROBLEMS, { maxNewTokens: 6, samples: 3, seed: 1, batchSize: 5 });
  assertEquals(again.samples.map((s) => s.completion), r.samples.map((s) => s.completion));
  assertEquals(again.meanAtK, r.meanAtK);
  const none = await evaluateMath(model, PROBLEMS, { maxNewTokens: 6 });
  assertEquals([none.k, none.meanAtK], [0, null]);
  assert(!("eval/mean_at_k" in mathEvalMetrics(none)));
});

Deno.test("mathEvalMetrics: every metric with a Wilson interval; the report and the last line", () => {
  const r: MathEvaluation = {
    n: 100,
    accuracy: 0.3,
    correct: 30,
    lenient: { correct: 60, rate: 0.6 },
    format: { correct: 40, rate: 0.4 },
    k: 4,
    meanAtK: { correct: 25.5, rate: 0.255 },
    samples: [],
  };
  const m = mathEvalMetrics(r);
  assertEquals(m["eval/accuracy"], 0.3);
  assertEquals(m["eval/accuracy_lenient"], 0.6);
  assertEquals(m["eval/format_rate"], 0.4);
  assertEquals(m["eval/mean_at_k"], 0.255);
  assertEquals([m["eval/n"], m["eval/k"]], [100, 4]);
  assert(Math.abs(m["eval/accuracy_lenient_ci_low"] - 0.50201) < 1e-4, "Wilson, 60/100");
  for (const k of ["eval/accuracy", "eval/accuracy_lenient", "eval/format_rate", "eval/mean_at_k"]) {
    assert(m[`${k}_ci_low`] < m[k] && m[k] < m[`${k}_ci_high`], k);
  }
  const lines = formatMathReport(r);
  assert(lines.some((l) => l.startsWith("strict accuracy") && l.includes("30.0%") && l.includes("(30/100")));
  assert(lines.some((l) => l.startsWith("mean@4")));
  assertEquals(formatAccuracy(r), "accuracy: 0.3000 (30/100)");
});
