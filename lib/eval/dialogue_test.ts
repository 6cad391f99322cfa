import { join } from "node:path";
import { CausalLM } from "../model/mod.ts";
import { writeTinyChatModel } from "../rewards/testing.ts";
import type { JudgeScore, RewardJudgeItem } from "../rewards/mod.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { dialoguePrompt, evaluateDialogue, rougeL, rougeTokens } from "./dialogue.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "eval-dialogue-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
await writeTinyChatModel(join(ROOT, "m"));
const model = await CausalLM.load(join(ROOT, "m"), { device: "cpu", threads: 1 });

const EXAMPLES = [
  { instruction: "Name a color.", input: "", output: "Blue is a color." },
  { instruction: "Add the numbers.", input: "2 and 3", output: "5" },
  { instruction: "Say hello.", input: "", output: "Hello!" },
];

function fakeJudge(score: (item: RewardJudgeItem) => JudgeScore) {
  const seen: RewardJudgeItem[] = [];
  return {
    seen,
    score: (items: RewardJudgeItem[]) => (seen.push(...items), Promise.resolve(items.map(score))),
  };
}

Deno.test("evaluateDialogue: greedy responses, judge sees plain prompt + reference, mean score and sources", async () => {
  const judge = fakeJudge((it) => ({
    score: it.reference === "5" ? 9 : 3,
    source: it.reference === "5" ? "judge" : "fallback",
  }));
  const r = await evaluateDialogue(model, EXAMPLES, { judge, batchSize: 2, maxNewTokens: 5 });
  assertEquals(r.n, 3);
  assertEquals(r.score, 5);
  assertEquals(r.sources, { judge: 1, cache: 0, fallback: 2 });
  assertEquals(judge.seen.map((x) => x.prompt), [
    "Name a color.",
    "Add the numbers.\n\n2 and 3",
    "Say hello.",
  ]);
  assertEquals(judge.seen[1].reference, "5");
  assertEquals(r.samples[1].score, 9);
  assertEquals(dialoguePrompt(EXAMPLES[1]), "Add the numbers.\n\n2 and 3");
  const again = await evaluateDialogue(model, EXAMPLES, {
    judge: fakeJudge(() => ({ score: 1, source: "judge" })),
    batchSize: 3,
    maxNewTokens: 5,
  });
  assertEquals(again.samples.map((s) => s.response), r.samples.map((s) => s.response), {
    msg: "greedy is deterministic",
  });
  assert(r.samples.every((s) => s.response.length >= 0 && !s.response.includes("<|end|>")));
  for (const s of r.samples) {
    assertEquals(s.overlap, rougeL(s.response, s.reference));
    assert(s.tokens >= 0 && s.tokens <= 5, `response length ${s.tokens} tokens`);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assertEquals(r.overlap, mean(r.samples.map((s) => s.overlap)));
  assertEquals(r.meanTokens, mean(r.samples.map((s) => s.tokens)));
});

Deno.test("rougeL: LCS-based F1 on word tokens; a padded answer scores lower than the reference itself", () => {
  assertEquals(rougeTokens("Hello, World! 42x"), ["hello", "world", "42x"]);
  assertEquals(rougeL("Blue is a color.", "blue is a color"), 1);
  assertEquals(rougeL("", "blue"), 0);
  assertEquals(rougeL("red", "blue"), 0);
  // LCS "the cat the mat" = 4 of 6 candidate and 4 of 6 reference tokens
  const f = rougeL("the cat sat on the mat", "the cat lay by the mat");
  assert(Math.abs(f - 4 / 6) < 1e-12, `got ${f}`);
  const padded = rougeL("Blue is a color. " + "and so on ".repeat(20), "Blue is a color.");
  assert(padded < 0.3, `length-padded answer overlap ${padded}`);
});

Deno.test("evaluateDialogue: a judge answering the wrong count or a non-number → UserError; bad options too", async () => {
  const short = { score: () => Promise.resolve([{ score: 1, source: "judge" as const }]) };
  await assertRejects(() => evaluateDialogue(model, EXAMPLES, { judge: short }), {
    cls: UserError,
    includes: "1 scores for 3",
  });
  const nan = fakeJudge(() => ({ score: NaN, source: "judge" }));
  await assertRejects(() => evaluateDialogue(model, EXAMPLES, { judge: nan }), {
    cls: UserError,
    includes: "not a number",
  });
  await assertRejects(() => evaluateDialogue(model, EXAMPLES, { judge: nan, batchSize: 0 }), {
    cls: UserError,
    includes: "batchSize must be a positive integer",
  });
  assertEquals((await evaluateDialogue(model, [], { judge: nan })).score, 0);
});
