import { geminiHardReward, geminiSoftReward, type JudgeScore, type RewardJudgeItem } from "./judge.ts";
import { UserError } from "../util/mod.ts";
import { assertEquals, assertRejects } from "../util/assert.ts";

function fakeJudge(verdicts: JudgeScore[]) {
  const seen: RewardJudgeItem[][] = [];
  return { seen, score: (items: RewardJudgeItem[]) => (seen.push(items), Promise.resolve(verdicts)) };
}
const V = (score: number, source: JudgeScore["source"] = "judge"): JudgeScore => ({ score, source });

Deno.test("geminiHardReward: score ≥ 7 → 2, else 0; items carry prompt, response, reference; sources counted", async () => {
  const judge = fakeJudge([V(7), V(6.9, "cache"), V(10, "fallback"), V(0)]);
  const r = geminiHardReward(judge);
  assertEquals(r.name, "gemini_hard");
  const out = await r.fn({
    prompts: ["p1", "p2", "p3", "p4"],
    completions: ["a", "b", "c", "d"],
    references: ["r1", "r2", "r3", "r4"],
  });
  assertEquals(out, [2, 0, 2, 0]);
  assertEquals(judge.seen[0][0], { prompt: "p1", response: "a", reference: "r1" });
  assertEquals(r.sources, { judge: 2, cache: 1, fallback: 1 });
});

Deno.test("geminiSoftReward: score / 5; no reference key when none given; NaN → 0 counted", async () => {
  const judge = fakeJudge([V(10), V(5), V(NaN, "fallback")]);
  const warnings: string[] = [];
  const r = geminiSoftReward(judge, { warn: (l) => warnings.push(l) });
  assertEquals(await r.fn({ prompts: ["p", "q", "s"], completions: ["a", "b", "c"] }), [2, 1, 0]);
  assertEquals("reference" in judge.seen[0][0], false);
  assertEquals([r.invalid, warnings.length, r.sources.fallback], [1, 1, 1]);
});

Deno.test("judge rewards: wrong verdict count, unknown source, mismatched references → UserError", async () => {
  const ctx = { prompts: ["p", "q"], completions: ["a", "b"] };
  await assertRejects(async () => await geminiHardReward(fakeJudge([V(1)])).fn(ctx), {
    cls: UserError,
    includes: "1 verdicts for 2",
  });
  const odd = fakeJudge([V(1), { score: 1, source: "mystery" as "judge" }]);
  await assertRejects(async () => await geminiSoftReward(odd).fn(ctx), {
    cls: UserError,
    includes: `"mystery"`,
  });
  await assertRejects(
    async () => await geminiSoftReward(fakeJudge([V(1), V(2)])).fn({ ...ctx, references: ["r"] }),
    { cls: UserError, includes: "1 references for 2" },
  );
});
