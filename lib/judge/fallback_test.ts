import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";
import { overlapFallback, overlapScore, tokenize, unigramF1 } from "./fallback.ts";

Deno.test("tokenize and unigramF1", () => {
  assertEquals(tokenize("The cat, the HAT! 42 café"), ["the", "cat", "the", "hat", "42", "café"]);
  assertAlmostEquals(unigramF1(["a", "b"], ["a", "b"]), 1);
  assertEquals(unigramF1([], ["a"]), 0);
  assertEquals(unigramF1(["x"], ["a"]), 0);
  // candidate [a,a,b] vs reference [a,c]: one common "a" (counts clipped), P = 1/3, R = 1/2.
  assertAlmostEquals(unigramF1(["a", "a", "b"], ["a", "c"]), (2 * (1 / 3) * 0.5) / (1 / 3 + 0.5));
});

Deno.test("overlapScore: reference F1 × 10, else a length/degeneracy heuristic", async () => {
  assertAlmostEquals(
    overlapScore({ prompt: "p", response: "the cat sat on the mat", reference: "The cat sat on the mat." }),
    10,
  );
  assertEquals(overlapScore({ prompt: "p", response: "dogs bark", reference: "the cat sat" }), 0);
  assertEquals(overlapScore({ prompt: "p", response: "" }), 0);
  const fluent = "Photosynthesis lets plants turn light, water and carbon dioxide into sugar and oxygen, " +
    "which feeds nearly every food chain on Earth.";
  assertAlmostEquals(overlapScore({ prompt: "p", response: fluent }), 10);
  const loop = Array(40).fill("the answer is").join(" ");
  assert(overlapScore({ prompt: "p", response: loop }) < 1, "a repetition loop must score near 0");
  assertAlmostEquals(overlapScore({ prompt: "p", response: "yes" }), 10 * (1 / 20));
  assertEquals(await overlapFallback.score({ prompt: "p", response: "" }), 0);
  assertEquals(overlapFallback.name, "overlap");
});
