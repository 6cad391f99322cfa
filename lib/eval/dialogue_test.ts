import { join } from "node:path";
import { CausalLM } from "../model/causal_lm.ts";
import { writeTinyChatModel } from "../rewards/testing.ts";
import type { JudgeItem, JudgeScore } from "../rewards/judge.ts";
import { UserError } from "../util/errors.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { dialoguePrompt, evaluateDialogue } from "./dialogue.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "eval-dialogue-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
await writeTinyChatModel(join(ROOT, "m"));
const model = await CausalLM.load(join(ROOT, "m"), { device: "cpu", threads: 1 });

const EXAMPLES = [
  { instruction: "Name a color.", input: "", output: "Blue is a color." },
  { instruction: "Add the numbers.", input: "2 and 3", output: "5" },
  { instruction: "Say hello.", input: "", output: "Hello!" },
];

function fakeJudge(score: (item: JudgeItem) => JudgeScore) {
  const seen: JudgeItem[] = [];
  return { seen, score: (items: JudgeItem[]) => (seen.push(...items), Promise.resolve(items.map(score))) };
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
  assertEquals(
    again.samples.map((s) => s.response),
    r.samples.map((s) => s.response),
    "greedy is deterministic",
  );
  assert(r.samples.every((s) => s.response.length >= 0 && !s.response.includes("<|end|>")));
});

Deno.test("evaluateDialogue: a judge answering the wrong count or a non-number → UserError; bad options too", async () => {
  const short = { score: () => Promise.resolve([{ score: 1, source: "judge" as const }]) };
  await assertRejects(() => evaluateDialogue(model, EXAMPLES, { judge: short }), UserError, "1 scores for 3");
  const nan = fakeJudge(() => ({ score: NaN, source: "judge" }));
  await assertRejects(() => evaluateDialogue(model, EXAMPLES, { judge: nan }), UserError, "not a number");
  await assertRejects(
    () => evaluateDialogue(model, EXAMPLES, { judge: nan, batchSize: 0 }),
    UserError,
    "batchSize must be a positive integer",
  );
  assertEquals((await evaluateDialogue(model, [], { judge: nan })).score, 0);
});
