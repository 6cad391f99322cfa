import { RANDOM_REWARD_POINTS, randomReward } from "./random.ts";
import { resolveRewards } from "./registry.ts";
import { assert, assertEquals } from "../util/assert.ts";

const batch = (n: number) => ({
  prompts: Array.from({ length: n }, (_, i) => `p${i % 7}`),
  completions: Array.from({ length: n }, (_, i) => `completion ${i % 13}`),
});

Deno.test("random reward: 0 or 2, about half wins, reproducible from its seed, different across seeds", () => {
  const ctx = batch(2000);
  const a = randomReward({ seed: 42 }).fn(ctx) as number[];
  assertEquals(a, randomReward({ seed: 42 }).fn(ctx) as number[], { msg: "same seed, same draws" });
  assert(a.every((x) => x === 0 || x === RANDOM_REWARD_POINTS));
  const share = a.filter((x) => x > 0).length / a.length;
  assert(share > 0.45 && share < 0.55, `share of wins ${share}`);
  const b = randomReward({ seed: 43 }).fn(ctx) as number[];
  const agree = a.filter((x, i) => x === b[i]).length / a.length;
  assert(agree > 0.4 && agree < 0.6, `two seeds agree on ${agree} of draws`);
  // not a function of correctness: the same completion text at another batch position may draw differently
  const same = { prompts: ["p", "p", "p", "p", "p", "p", "p", "p"], completions: Array(8).fill("x") };
  const s = randomReward({ seed: 1 }).fn(same) as number[];
  assert(new Set(s).size === 2, `draws ${s}`);
});

Deno.test("random reward: registered as `random`, seeded by its dependencies", () => {
  const [f] = resolveRewards(["random"], { seed: 7 });
  assertEquals(f.name, "random");
  assertEquals(f.fn(batch(50)), randomReward({ seed: 7 }).fn(batch(50)));
});
