import { join } from "node:path";
import { CausalLM } from "../model/mod.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import {
  mathReasoning,
  meanTokenProbability,
  referenceLikelihoodReward,
  referencePair,
  type TargetScorer,
} from "./reference_likelihood.ts";
import { resolveRewards } from "./registry.ts";
import { policyTargetScorer } from "./scorers.ts";

/** A fake scorer: each target token gets the log-prob `table` gives for its (context, target). */
function fake(table: (context: string, target: string) => number[]): TargetScorer & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    name: "fake",
    calls,
    targetLogprobs(contexts, targets) {
      calls.push(contexts);
      return Promise.resolve(contexts.map((c, i) => table(c, targets[i])));
    },
  };
}

Deno.test("mathReasoning and referencePair: the gold answer goes inline into the completion's own <answer> slot", () => {
  const c = "<reasoning>\n3 + 4 = 7\n</reasoning>\n<answer>\n8\n</answer>\n";
  assertEquals(mathReasoning(c), "<reasoning>\n3 + 4 = 7\n</reasoning>");
  assertEquals(mathReasoning("no tags, so 7  \n"), "no tags, so 7");
  const p = referencePair("math", { prompt: "P:", completion: c, reference: " 7 " });
  assertEquals(p, {
    // the embedded model's corpus writes `</reasoning>\n<answer>N</answer>`: the answer right after the tag
    context: "P:<reasoning>\n3 + 4 = 7\n</reasoning>\n<answer>",
    baseline: "P:<answer>",
    target: "7",
  });
  const d = referencePair("dialogue", { prompt: "Q?", completion: "Sure. ", reference: "Yes." });
  assertEquals(d, { context: "Q?Sure.\n\n", baseline: "Q?", target: "Yes." });
});

Deno.test("meanTokenProbability: mean of probabilities, NaN when empty", () => {
  assertAlmostEquals(meanTokenProbability([Math.log(0.5), Math.log(0.1)]), 0.3);
  assertEquals(meanTokenProbability([]), NaN);
});

Deno.test("referenceLikelihoodReward: 2·mean probability; reasoning that names the answer scores higher", async () => {
  // The fake "model" finds the target likely when the context already mentions it.
  const scorer = fake((c, t) =>
    t.split("").map(() => (c.includes(`= ${t}`) ? Math.log(0.9) : Math.log(0.2)))
  );
  const r = referenceLikelihoodReward(scorer);
  assertEquals(r.name, "reference_likelihood");
  const ctx = {
    prompts: ["Q1 ", "Q1 "],
    completions: ["<reasoning>3 + 4 = 7</reasoning><answer>7</answer>", "<reasoning>3 + 4 = 8</reasoning>"],
    answers: ["7", "7"],
  };
  const out = (await r.fn(ctx)) as number[];
  assertAlmostEquals(out[0], 1.8);
  assertAlmostEquals(out[1], 0.4);
  assertEquals(r.scored, 2);
  // the completion's own answer is never part of what is scored
  assert(scorer.calls[0].every((c) => !c.includes("<answer>7")), scorer.calls[0].join("|"));
});

Deno.test("referenceLikelihoodReward debiased: clip(p − p(no reasoning), 0, 1), one baseline per prompt", async () => {
  const scorer = fake((c, t) =>
    t.split("").map(() => Math.log(c.endsWith("Q1 <answer>") ? 0.5 : c.includes("good") ? 0.9 : 0.3))
  );
  const r = referenceLikelihoodReward(scorer, { debias: true });
  assertEquals(r.name, "reference_likelihood_debiased");
  const out = (await r.fn({
    prompts: ["Q1 ", "Q1 ", "Q1 "],
    completions: ["good", "bad", "good too"],
    answers: ["7", "7", "7"],
  })) as number[];
  assertAlmostEquals(out[0], 2 * 0.4);
  assertEquals(out[1], 0);
  assertAlmostEquals(out[2], 2 * 0.4);
  // the baseline of the shared prompt is scored once
  assertEquals(scorer.calls.map((c) => c.length), [3, 1]);
});

Deno.test("userTurnPrompts: a plain user turn is put in the scorer's chat layout before the pair is built", async () => {
  const scorer = Object.assign(fake((_, t) => t.split("").map(() => Math.log(0.5))), {
    layout: (u: string) => `<u>${u}</u><a>`,
  });
  const ctx = { prompts: ["Hi?"], completions: ["Hello."], references: ["Hey."] };
  await referenceLikelihoodReward(scorer, { userTurnPrompts: true, debias: true }).fn(ctx);
  assertEquals(scorer.calls, [["<u>Hi?</u><a>Hello.\n\n"], ["<u>Hi?</u><a>"]]);
  await referenceLikelihoodReward(scorer).fn(ctx);
  assertEquals(scorer.calls[2], ["Hi?Hello.\n\n"], {
    msg: "prompts already rendered are scored as they are",
  });
});

Deno.test("referenceLikelihoodReward: dialogue uses references; bad scorer answers and inputs are one-line errors", async () => {
  const scorer = fake((_, t) => [Math.log(0.5)].concat(t.length > 3 ? [Math.log(0.25)] : []));
  const r = referenceLikelihoodReward(scorer);
  const out =
    (await r.fn({ prompts: ["a"], completions: ["b"], references: ["long reference"] })) as number[];
  assertAlmostEquals(out[0], 2 * 0.375);
  await assertRejects(async () => await r.fn({ prompts: ["a"], completions: ["b"] }), {
    cls: UserError,
    includes: "needs ctx.references",
  });
  const broken: TargetScorer = { name: "broken", targetLogprobs: () => Promise.resolve([]) };
  await assertRejects(
    async () =>
      await referenceLikelihoodReward(broken).fn({ prompts: ["a"], completions: ["b"], answers: ["1"] }),
    { cls: UserError, includes: "returned 0 rows for 1 references" },
  );
  const empty = referenceLikelihoodReward(fake(() => []));
  assertEquals(await empty.fn({ prompts: ["a"], completions: ["b"], answers: ["1"] }), [0]);
  assertEquals(empty.nonFinite, 1);
  assertThrows(() => referenceLikelihoodReward(scorer, { maxTargetTokens: 0 }), {
    cls: UserError,
    includes: "maxTargetTokens",
  });
  assertThrows(() => resolveRewards(["reference_likelihood"]), {
    cls: UserError,
    includes: "needs a reference scorer",
  });
});

Deno.test("reference_likelihood on the embedded model: varies across completions and prefers correct reasoning", async () => {
  const dir = join(new URL("../../data/tiny/", import.meta.url).pathname);
  const model = await CausalLM.load(dir, { device: "cpu", threads: 1 });
  try {
    const [reward] = resolveRewards(["reference_likelihood"], { targetScorer: policyTargetScorer(model) });
    const prompt = model.tok.applyChatTemplate(
      [{ role: "user", content: "Tom has 12 apples and buys 30 more. How many apples does he have?" }],
      { addGenerationPrompt: true },
    );
    const right = "<reasoning>\n12 + 30 = 42\n</reasoning>\n";
    const wrong = "<reasoning>\n12 + 30 = 17\n</reasoning>\n";
    const out = (await reward.fn({
      prompts: [prompt, prompt, prompt],
      completions: [right, wrong, ""],
      answers: ["42", "42", "42"],
    })) as number[];
    assert(out.every((x) => x > 0 && x <= 2), `${out}`);
    assert(out[0] > out[1], `correct reasoning ${out[0]} should beat wrong ${out[1]}`);
    assert(new Set(out).size === 3, `not constant: ${out}`);
  } finally {
    await model.release();
  }
});
