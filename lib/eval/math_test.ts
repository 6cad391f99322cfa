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
  passAtK,
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
    passAtK: [{ k: 1, strict: 0.255, lenient: 0.5 }, { k: 4, strict: 0.41, lenient: 0.7 }],
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
  assert(
    lines.some((l) => l.startsWith("pass@4") && l.includes("41.0% strict") && l.includes("70.0% lenient")),
  );
  assertEquals(formatAccuracy(r), "accuracy: 0.3000 (30/100)");
});

/** pass@k by its definition: the share of all k-subsets of the n samples that hold a correct one. */
function passAtKBySubsets(n: number, c: number, k: number): number {
  let hit = 0, all = 0;
  const walk = (start: number, left: number, correct: boolean) => {
    if (left === 0) {
      all++;
      if (correct) hit++;
      return;
    }
    for (let i = start; i <= n - left; i++) walk(i + 1, left - 1, correct || i < c);
  };
  walk(0, k, false);
  return hit / all;
}

Deno.test("passAtK: the unbiased estimator on known cases and against subset enumeration", () => {
  assertEquals(passAtK({ n: 16, c: 0 }, 16), 0);
  assertEquals(passAtK({ n: 16, c: 16 }, 1), 1);
  assertEquals(passAtK({ n: 16, c: 1 }, 16), 1);
  assert(Math.abs(passAtK({ n: 16, c: 5 }, 1) - 5 / 16) < 1e-12, "pass@1 is c / n");
  assert(Math.abs(passAtK({ n: 4, c: 1 }, 2) - 0.5) < 1e-12, "1 − C(3,2)/C(4,2)");
  assert(Math.abs(passAtK({ n: 16, c: 2 }, 4) - (1 - 1001 / 1820)) < 1e-12, "1 − C(14,4)/C(16,4)");
  for (const [n, c, k] of [[8, 3, 4], [10, 1, 3], [7, 5, 2], [9, 0, 4], [6, 2, 6]]) {
    const d = Math.abs(passAtK({ n, c }, k) - passAtKBySubsets(n, c, k));
    assert(d < 1e-12, `n=${n} c=${c} k=${k}: ${d}`);
  }
  for (const bad of [{ n: 4, c: 5, k: 1 }, { n: 4, c: 1, k: 5 }, { n: 4, c: 1, k: 0 }]) {
    let threw = false;
    try {
      passAtK({ n: bad.n, c: bad.c }, bad.k);
    } catch {
      threw = true;
    }
    assert(threw, `passAtK(${JSON.stringify(bad)}) must throw`);
  }
});

Deno.test("evaluateMath: pass@k from the samples, k ≤ samples, strict ≤ lenient", async () => {
  const r = await evaluateMath(model, PROBLEMS, { maxNewTokens: 6, samples: 4, seed: 2, sampleBatchSize: 7 });
  assertEquals(r.passAtK.map((p) => p.k), [1, 4]);
  const want = (k: number, get: (s: (typeof r.samples)[0]) => number) =>
    r.samples.reduce((a, s) => a + passAtK({ n: 4, c: get(s) }, k), 0) / r.n;
  for (const p of r.passAtK) {
    assertEquals(p.strict, want(p.k, (s) => s.sampledCorrect!));
    assertEquals(p.lenient, want(p.k, (s) => s.sampledCorrectLenient!));
    assert(p.strict <= p.lenient + 1e-12, "strictly correct is leniently correct");
  }
  assertEquals(r.passAtK[0].strict, r.meanAtK!.rate, { msg: "pass@1 is mean@k" });
  const none = await evaluateMath(model, PROBLEMS, { maxNewTokens: 6 });
  assertEquals(none.passAtK, []);
});
