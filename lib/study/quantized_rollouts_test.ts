/**
 * math_hard on the embedded tiny model with int4 rollouts (corrected by importance sampling) still learns
 * like the float32 run: its held-out accuracy gain lies within the float32 run's 95 % interval. Small on
 * purpose (a few steps, short completions); both runs share the seed, data and evaluation items.
 */
import { runExperiment } from "./experiments.ts";
import { assert } from "../util/assert.ts";

const STEPS = 6, EVAL = 80;

async function gain(quantization: "none" | "int4", dir: string) {
  const res = await runExperiment("math_hard", {
    params: {
      max_steps: STEPS,
      save_steps: 0,
      eval_steps: 0,
      eval_size: EVAL,
      output_dir: `${dir}/${quantization}`,
      per_device_train_batch_size: 16,
      num_generations: 4,
      max_completion_length: 48,
      learning_rate: 1e-3,
      rollout_quantization: quantization,
      threads: 2,
      device: "cpu",
      seed: 1,
    },
    print: false,
    handleSigint: false,
    log: () => {},
  });
  const acc = res.rows.filter((r) => r["eval/accuracy"] !== undefined).map((r) => r["eval/accuracy"]);
  return { before: acc[0], after: acc[acc.length - 1], rows: res.rows };
}

Deno.test({
  name: "math_hard with int4 rollouts: held-out gain within the float32 run's interval; sampling/* logged",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "int4-learn-" });
    try {
      const fp = await gain("none", dir), q = await gain("int4", dir);
      assert(fp.before === q.before, `same start: ${fp.before} vs ${q.before}`);
      const g = fp.after - fp.before, gq = q.after - q.before;
      // 95 % interval of the float32 gain: two accuracies on EVAL items each
      const se = Math.sqrt((fp.before * (1 - fp.before) + fp.after * (1 - fp.after)) / EVAL);
      console.log(
        `held-out gain: float32 ${g.toFixed(3)} ± ${(1.96 * se).toFixed(3)}, int4 ${gq.toFixed(3)}`,
      );
      assert(Math.abs(gq - g) <= 1.96 * se, `int4 gain ${gq} outside float32 ${g} ± ${1.96 * se}`);
      const trained = q.rows.filter((r) => r["timing/train_s"] !== undefined);
      assert(trained.length === STEPS, `${trained.length} training rows`);
      for (const r of trained) {
        const lo = r["sampling/importance_sampling_ratio/min"],
          hi = r["sampling/importance_sampling_ratio/max"];
        assert(
          lo > 0 && hi <= 3 && lo <= r["sampling/importance_sampling_ratio/mean"],
          `ratios ${lo}..${hi}`,
        );
        assert(
          r["sampling/sampling_logp_difference/mean"] > 0,
          "int4 sampling log-probs equal training ones",
        );
      }
      assert(
        fp.rows.every((r) => r["sampling/importance_sampling_ratio/mean"] === undefined),
        "fp32 logs IS",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
