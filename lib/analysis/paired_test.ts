import { assert, assertEquals } from "../util/assert.ts";
import { type EvalRecord, pairedBetween, pairedSentence, pairedVsBase, type RunEval } from "./paired.ts";

function mathRun(experiment: string, seed: number, base: boolean[], last: boolean[]): RunEval {
  const rec = (step: number, ok: boolean[]): EvalRecord[] =>
    ok.map((correct, id) => ({
      step,
      id,
      prompt: `q${seed}-${id}`,
      completion: "",
      gold: String(id),
      correct,
    }));
  return { source: "ours", experiment, seed, records: [...rec(0, base), ...rec(5, last)] };
}

const N = 100;
const baseOk = Array.from({ length: N }, (_, i) => i < 60);

Deno.test("pairedVsBase: one seed of 100 problems gets a paired interval and McNemar's test; +3 with 8 gained / 5 lost is not distinguishable", () => {
  const last = baseOk.map((x, i) => (i >= 60 && i < 68 ? true : i < 5 ? false : x));
  const [c] = pairedVsBase([mathRun("math_hard", 42, baseOk, last)], { seed: 1 });
  assertEquals(c.b, "base model");
  assertEquals(c.diff.n, 100);
  assertEquals([c.mcnemar!.aOnly, c.mcnemar!.bOnly], [8, 5]);
  assert(c.diff.lo < 0 && c.diff.hi > 0);
  const s = pairedSentence(c);
  assert(s.includes("+3.0 points"), s);
  assert(s.includes("not distinguishable"), s);
  assert(/paired 95% CI −\d/.test(s), s);
  assert(s.includes("McNemar exact p = 0.581"), s);
  assert(
    s.includes("a statement about this trained run, not about the reward"),
    s,
  );
});

Deno.test("pairedVsBase: a large consistent gain is ahead; seeds pooled within strata", () => {
  const last = baseOk.map((x, i) => x || i < 90);
  const cs = pairedVsBase([mathRun("math_hard", 1, baseOk, last), mathRun("math_hard", 2, baseOk, last)]);
  assertEquals(cs.length, 1);
  assertEquals(cs[0].seeds, [1, 2]);
  assertEquals(cs[0].diff.n, 200);
  const s = pairedSentence(cs[0]);
  assert(
    s.endsWith(
      "math_hard is ahead — a per-problem interval, so a statement about these trained runs, not about the reward.",
    ),
    s,
  );
  assert(!s.includes("not distinguishable"), s);
});

Deno.test("pairedBetween: pairs the same problems across experiments by seed and prompt; judge fallback named", () => {
  const a = mathRun("math_hard", 7, baseOk, baseOk);
  const b = mathRun("math_soft", 7, baseOk, baseOk.map((x, i) => x && i >= 10));
  const other = mathRun("math_perplexity", 8, baseOk, baseOk); // different seed → different problems
  const cs = pairedBetween([a, b, other]);
  assertEquals(cs.map((c) => `${c.a}-${c.b}`), ["math_hard-math_soft"]);
  assertEquals(cs[0].diff.estimate, 0.1);
  const dia = (experiment: string, score: number, source: string): RunEval => ({
    source: "ours",
    experiment,
    seed: 0,
    records: [0, 3].flatMap((step) =>
      [0, 1, 2].map((id) => ({ step, id, prompt: `p${id}`, completion: "", gold: "r", score, source }))
    ),
  });
  const [d] = pairedBetween([dia("dialogue_hard", 8, "fallback"), dia("dialogue_soft", 8, "judge")]);
  assertEquals(d.metric, "judge score");
  assertEquals(d.fallback, { count: 3, of: 6 });
  const s = pairedSentence(d);
  assert(
    s.includes("not distinguishable") && s.includes("3 of 6 judge scores came from the local judge fallback"),
    s,
  );
});
