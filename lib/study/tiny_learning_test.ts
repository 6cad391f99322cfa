/**
 * Issue 9 §4 in small: a short math_hard run on the embedded model raises strict held-out accuracy. Deterministic
 * (seeded, one thread), and it can fail: the embedded model starts with few answers in the `<answer>` slot, and
 * only a policy that learns to put them there passes.
 */
import { join } from "node:path";
import { assert } from "../util/assert.ts";
import { runExperiment } from "./experiments.ts";

const MODEL = new URL("../../data/tiny/", import.meta.url).pathname;

Deno.test("math_hard on the embedded model raises strict held-out accuracy within a few steps", async () => {
  const out = await Deno.makeTempDir({ prefix: "tiny-learning-test-" });
  try {
    const res = await runExperiment("math_hard", {
      print: false,
      handleSigint: false,
      log: () => {},
      params: {
        model: MODEL,
        device: "cpu",
        threads: 1,
        output_dir: join(out, "run"),
        max_steps: 12,
        eval_size: 40,
        eval_steps: 0,
        eval_num_samples: 0,
        save_steps: 0,
        max_completion_length: 64,
        seed: 42,
      },
    });
    const evals = res.rows.filter((r) => r["eval/accuracy"] !== undefined);
    const first = evals[0]["eval/accuracy"], last = evals.at(-1)!["eval/accuracy"];
    assert(evals[0].step === 0 && evals.at(-1)!.step === 12, `evaluations at ${evals.map((r) => r.step)}`);
    assert(first <= 0.3, `the embedded model should start with low strict accuracy, got ${first}`);
    assert(last - first >= 0.15, `strict accuracy ${first} → ${last}: expected a gain of at least 15 points`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
