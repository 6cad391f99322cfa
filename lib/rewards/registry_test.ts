import { assertUniqueRewardNames, computeRewards, resolveRewards, REWARDS } from "./registry.ts";
import { perplexityReward } from "./perplexity.ts";
import type { RewardFunction } from "./types.ts";
import { UserError } from "../util/errors.ts";
import { assertEquals, assertRejects, assertThrows } from "../util/assert.ts";

const scorer = { name: "fake", perplexities: (p: string[]) => Promise.resolve(p.map(() => 50)) };
const judge = {
  score: (items: unknown[]) => Promise.resolve(items.map(() => ({ score: 8, source: "judge" as const }))),
};

Deno.test("resolveRewards: builds named rewards; unknown name lists the known ones", () => {
  const fns = resolveRewards(["math_hard", "format", "perplexity", "gemini_soft"], { scorer, judge });
  assertEquals(fns.map((f) => f.name), ["math_hard", "format", "perplexity", "gemini_soft"]);
  const e = assertThrows(() => resolveRewards(["math_hardd"]), UserError, `unknown reward "math_hardd"`);
  for (const k of Object.keys(REWARDS)) assertEquals(e.message.includes(k), true, `lists ${k}`);
  assertThrows(() => resolveRewards(["toString"]), UserError, "unknown reward");
  assertThrows(() => resolveRewards([]), UserError, "no rewards");
});

Deno.test("resolveRewards: missing dependency → UserError naming the reward", () => {
  assertThrows(() => resolveRewards(["perplexity"]), UserError, `"perplexity" needs a perplexity scorer`);
  assertThrows(() => resolveRewards(["gemini_hard"], { scorer }), UserError, `"gemini_hard" needs a judge`);
});

Deno.test("two rewards can never share a name (the seed study's double `wrapped_func`)", async () => {
  assertThrows(() => resolveRewards(["format", "format"]), UserError, `"format" is used twice`);
  const wrapped = (fn: RewardFunction["fn"]): RewardFunction => ({ name: "wrapped_func", fn });
  const twins = [wrapped(() => [0]), wrapped(() => [1])];
  assertThrows(() => assertUniqueRewardNames(twins), UserError, `"wrapped_func" is used twice`);
  await assertRejects(
    () => computeRewards(twins, { prompts: ["p"], completions: ["c"] }),
    UserError,
    "wrapped_func",
  );
  // Two perplexity rewards are fine once named apart.
  assertUniqueRewardNames([perplexityReward(scorer), perplexityReward(scorer, { name: "perplexity_ref" })]);
  assertThrows(() => assertUniqueRewardNames([{ name: " ", fn: () => [] }]), UserError, "empty name");
});

Deno.test("computeRewards: per-reward scores keyed by name and a weighted total", async () => {
  const fns = resolveRewards(["math_hard", "format", "perplexity"], { scorer });
  const ctx = {
    prompts: ["p", "p"],
    completions: ["<reasoning>r</reasoning><answer>4</answer>", "<answer>5</answer>"],
    answers: ["4", "4"],
  };
  const got = await computeRewards(fns, ctx);
  assertEquals(got.perFunction, { math_hard: [2, 0], format: [0.5, 0.25], perplexity: [1, 1] });
  assertEquals(got.total, [3.5, 1.25]);
  assertEquals((await computeRewards(fns, ctx, { weights: [1, 2, 0] })).total, [3, 0.5]);
  await assertRejects(() => computeRewards(fns, ctx, { weights: [1] }), UserError, "1 weights for 3");
});

Deno.test("computeRewards: a reward returning the wrong length or a non-finite score → UserError", async () => {
  const ctx = { prompts: ["p", "q"], completions: ["a", "b"] };
  await assertRejects(
    () => computeRewards([{ name: "short", fn: () => [1] }], ctx),
    UserError,
    `"short" returned 1 scores`,
  );
  await assertRejects(
    () => computeRewards([{ name: "nan", fn: () => [1, NaN] }], ctx),
    UserError,
    "completion 1",
  );
});

Deno.test("computeRewards: null means not applicable (skipped in the sum); no applicable reward → NaN, counted", async () => {
  const ctx = { prompts: ["p", "p", "p"], completions: ["a", "b", "c"] };
  const r = await computeRewards(
    [
      { name: "x", fn: () => [1, null, null] },
      { name: "y", fn: () => [2, 3, null] },
    ],
    ctx,
    { weights: [1, 0.5] },
  );
  assertEquals(r.perFunction, { x: [1, null, null], y: [2, 3, null] });
  assertEquals(r.total.slice(0, 2), [2, 1.5]);
  assertEquals([Number.isNaN(r.total[2]), r.unscorable], [true, 1]);
  await assertRejects(
    () => computeRewards([{ name: "z", fn: () => [1, NaN, 0] }], ctx),
    UserError,
    'reward "z" gave a non-finite score NaN for completion 1',
  );
});
