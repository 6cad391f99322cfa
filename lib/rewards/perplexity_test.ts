import { perplexityReward, perplexityToReward } from "./perplexity.ts";
import { UserError } from "../util/mod.ts";
import { assertAlmostEquals, assertEquals, assertRejects } from "../util/assert.ts";

const fake = (values: number[]) => ({
  name: "fake-lm",
  calls: [] as [string[], string[]][],
  perplexities(prompts: string[], completions: string[]) {
    this.calls.push([prompts, completions]);
    return Promise.resolve(values);
  },
});

Deno.test("perplexityToReward: 2 / (1 + PPL/50)", () => {
  assertEquals(perplexityToReward(0), 2);
  assertEquals(perplexityToReward(50), 1);
  assertAlmostEquals(perplexityToReward(150), 0.5);
  assertEquals(perplexityToReward(Infinity), NaN);
  assertEquals(perplexityToReward(-1), NaN);
});

Deno.test("perplexityReward: scores via the scorer, non-finite → 0 counted and warned once", async () => {
  const scorer = fake([50, NaN, 1, Infinity]);
  const warnings: string[] = [];
  const r = perplexityReward(scorer, { warn: (l) => warnings.push(l) });
  assertEquals(r.name, "perplexity");
  const ctx = { prompts: ["a", "b", "c", "d"], completions: ["w", "x", "y", "z"] };
  const out = (await r.fn(ctx)) as number[];
  assertEquals(out.slice(0, 2), [1, 0]);
  assertAlmostEquals(out[2], 2 / 1.02);
  assertEquals(out[3], 0);
  assertEquals(scorer.calls, [[ctx.prompts, ctx.completions]]);
  assertEquals([r.nonFinite, r.scored], [2, 4]);
  assertEquals(warnings.length, 1);
  assertEquals(warnings[0].includes("fake-lm"), true);
  assertEquals(perplexityReward(scorer, { name: "ppl_ref" }).name, "ppl_ref");
});

Deno.test("perplexityReward: a scorer answering the wrong number of values → UserError", async () => {
  const r = perplexityReward(fake([1]));
  await assertRejects(async () => await r.fn({ prompts: ["a", "b"], completions: ["x", "y"] }), {
    cls: UserError,
    includes: "1 perplexities for 2",
  });
});

Deno.test("perplexityReward with userTurnPrompts: each plain user turn is scored in the scorer's chat layout", async () => {
  const scorer = Object.assign(fake([50]), { layout: (u: string) => `<user>${u}<assistant>` });
  await perplexityReward(scorer, { userTurnPrompts: true }).fn({ prompts: ["Hi?"], completions: ["Hello."] });
  await perplexityReward(scorer).fn({ prompts: ["<user>Hi?<assistant>"], completions: ["Hello."] });
  assertEquals(scorer.calls, [[["<user>Hi?<assistant>"], ["Hello."]], [["<user>Hi?<assistant>"], [
    "Hello.",
  ]]]);
});
