import {
  assertUniqueRewardNames,
  computeRewards,
  describeRewards,
  resolveRewards,
  REWARD_DESCRIPTIONS,
  REWARD_TABLE,
  REWARDS,
  type RewardSpec,
} from "./registry.ts";
import { perplexityReward } from "./perplexity.ts";
import type { RewardFunction } from "./types.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";

const scorer = { name: "fake", perplexities: (p: string[]) => Promise.resolve(p.map(() => 50)) };
const judge = {
  score: (items: unknown[]) => Promise.resolve(items.map(() => ({ score: 8, source: "judge" as const }))),
};

Deno.test("resolveRewards: builds named rewards; unknown name lists the known ones", () => {
  const fns = resolveRewards(["math_hard", "format", "perplexity", "gemini_soft"], { scorer, judge });
  assertEquals(fns.map((f) => f.name), ["math_hard", "format", "perplexity", "gemini_soft"]);
  const e = assertThrows(() => resolveRewards(["math_hardd"]), {
    cls: UserError,
    includes: `unknown reward "math_hardd"`,
  });
  for (const k of Object.keys(REWARDS)) assertEquals(e.message.includes(k), true, { msg: `lists ${k}` });
  assertThrows(() => resolveRewards(["toString"]), { cls: UserError, includes: "unknown reward" });
  assertThrows(() => resolveRewards([]), { cls: UserError, includes: "no rewards" });
});

Deno.test("resolveRewards: missing dependency → UserError naming the reward", () => {
  assertThrows(() => resolveRewards(["perplexity"]), {
    cls: UserError,
    includes: `"perplexity" needs a perplexity scorer`,
  });
  assertThrows(() => resolveRewards(["gemini_hard"], { scorer }), {
    cls: UserError,
    includes: `"gemini_hard" needs a judge`,
  });
});

Deno.test("two rewards can never share a name (the seed study's double `wrapped_func`)", async () => {
  assertThrows(() => resolveRewards(["format", "format"]), {
    cls: UserError,
    includes: `"format" is used twice`,
  });
  const wrapped = (fn: RewardFunction["fn"]): RewardFunction => ({ name: "wrapped_func", fn });
  const twins = [wrapped(() => [0]), wrapped(() => [1])];
  assertThrows(() => assertUniqueRewardNames(twins), {
    cls: UserError,
    includes: `"wrapped_func" is used twice`,
  });
  await assertRejects(() => computeRewards(twins, { prompts: ["p"], completions: ["c"] }), {
    cls: UserError,
    includes: "wrapped_func",
  });
  // Two perplexity rewards are fine once named apart.
  assertUniqueRewardNames([perplexityReward(scorer), perplexityReward(scorer, { name: "perplexity_ref" })]);
  assertThrows(() => assertUniqueRewardNames([{ name: " ", fn: () => [] }]), {
    cls: UserError,
    includes: "empty name",
  });
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
  await assertRejects(() => computeRewards(fns, ctx, { weights: [1] }), {
    cls: UserError,
    includes: "1 weights for 3",
  });
});

Deno.test("computeRewards: a reward returning the wrong length or a non-finite score → UserError", async () => {
  const ctx = { prompts: ["p", "q"], completions: ["a", "b"] };
  await assertRejects(() => computeRewards([{ name: "short", fn: () => [1] }], ctx), {
    cls: UserError,
    includes: `"short" returned 1 scores`,
  });
  await assertRejects(() => computeRewards([{ name: "nan", fn: () => [1, NaN] }], ctx), {
    cls: UserError,
    includes: "completion 1",
  });
});

Deno.test("every registered reward has a --help description, and describeRewards lists them all", () => {
  for (const name of Object.keys(REWARDS)) {
    assert((REWARD_DESCRIPTIONS[name] ?? "").length > 10, `reward "${name}" has no description`);
  }
  const lines = describeRewards().split("\n");
  assertEquals(lines.length, Object.keys(REWARDS).length);
  assert(lines.some((l) => l.includes("math_hard_lenient") && l.includes("#### N")));
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
  await assertRejects(() => computeRewards([{ name: "z", fn: () => [1, NaN, 0] }], ctx), {
    cls: UserError,
    includes: 'reward "z" gave a non-finite score NaN for completion 1',
  });
});

Deno.test("the reward table: one row per name, each stating what it needs; a row passed in resolves like a built-in", async () => {
  const names = REWARD_TABLE.map((r) => r.name);
  assertEquals(new Set(names).size, names.length, { msg: "unique names" });
  assertEquals(Object.keys(REWARDS), names);
  const needs = Object.fromEntries(REWARD_TABLE.filter((r) => r.needs.length).map((r) => [r.name, r.needs]));
  assertEquals(needs, {
    perplexity: ["scorer"],
    gemini_hard: ["judge"],
    gemini_soft: ["judge"],
    reference_likelihood: ["targetScorer"],
    reference_likelihood_debiased: ["targetScorer"],
  });
  // every row that needs nothing is made with no dependencies at all
  for (const r of REWARD_TABLE.filter((r) => !r.needs.length)) assertEquals(r.make({}).name, r.name);
  const mine: RewardSpec = {
    name: "long",
    description: "1 per completion over 3 characters",
    needs: ["judge"],
    make: () => ({ name: "long", fn: (ctx) => ctx.completions.map((c) => (c.length > 3 ? 1 : 0)) }),
  };
  const table = [...REWARD_TABLE, mine];
  assertThrows(() => resolveRewards(["long"], { table }), {
    cls: UserError,
    includes: '"long" needs a judge, and none was given',
  });
  const [f] = resolveRewards(["long"], { table, judge });
  assertEquals(await f.fn({ prompts: ["p", "p"], completions: ["ab", "abcd"] }), [0, 1]);
  assertThrows(() => resolveRewards(["long"]), { cls: UserError, includes: 'unknown reward "long"' });
  assert(describeRewards({ table }).includes("1 per completion over 3 characters"));
});
