/**
 * A short training run (2 steps, tiny model) with each loss-family option, dynamic sampling, null rewards
 * and `--preset trl`: each must train with finite loss and gradients and log what it promises.
 */
import { join } from "node:path";
import { buildLoraTrainGraph, CausalLM } from "../model/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import type { RewardFunction } from "../rewards/mod.ts";
import { configPreset, resolveConfig } from "./config.ts";
import { grpoLoss, type GrpoLossSpec } from "./loss_graph.ts";
import type { GrpoConfig } from "./config_table.ts";
import { tinyMathExamples, writeTinyChatModel } from "./testing.ts";
import { train } from "./trainer.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-objective-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const MODEL = join(ROOT, "model");
await writeTinyChatModel(MODEL);
const model = await CausalLM.load(MODEL, { device: "cpu", threads: 1 });

/** Varying rewards; "odd_only" is not applicable (null) to every other completion. */
const REWARDS: RewardFunction[] = [
  { name: "digits", fn: (ctx) => ctx.completions.map((c) => (c.match(/\d/g) ?? []).length / 4) },
  { name: "short", fn: (ctx) => ctx.completions.map((c) => (c.length < 20 ? 1 : 0)) },
  { name: "odd_only", fn: (ctx) => ctx.completions.map((c, i) => (i % 2 ? c.length / 10 : null)) },
];
const EXAMPLES = tinyMathExamples(24);

function config(name: string, extra: Record<string, unknown>): GrpoConfig {
  return resolveConfig({
    model: MODEL,
    device: "cpu",
    threads: 1,
    output_dir: join(ROOT, name),
    reward_funcs: REWARDS.map((r) => r.name),
    max_steps: 2,
    per_device_train_batch_size: 4,
    num_generations: 2,
    gradient_accumulation_steps: 2,
    max_prompt_length: 48,
    max_completion_length: 6,
    learning_rate: 0.05,
    warmup_ratio: 0,
    beta: 0.04,
    save_steps: 0,
    eval_steps: 0,
    eval_size: 0,
    ...extra,
  }, { extraRewards: [...REWARDS.map((r) => r.name), "flat"] });
}

const run = (cfg: GrpoConfig, rewards = REWARDS) =>
  train(cfg, {
    experiment: "unit",
    examples: EXAMPLES,
    rewards,
    model,
    print: false,
    handleSigint: false,
    log: () => {},
  });

const OPTIONS: [string, Record<string, unknown>][] = [
  ["cispo", { loss_type: "cispo", epsilon_high: 5 }],
  ["sapo", { loss_type: "sapo", sapo_temperature_pos: 1.2, sapo_temperature_neg: 0.9 }],
  ["gspo", { loss_type: "grpo", importance_sampling_level: "sequence", num_iterations: 2 }],
  ["delta", { loss_type: "dapo", delta: 1.5, num_iterations: 2 }],
  ["mask_truncated", { mask_truncated_completions: true }],
  ["top_entropy", { top_entropy_quantile: 0.2 }],
  ["entropy_coef", { entropy_coef: 0.01 }],
  ["gdpo", { multi_objective_aggregation: "normalize_then_sum" }],
  ["beta0", { beta: 0 }],
  ["preset_trl", {
    ...configPreset("trl"),
    per_device_train_batch_size: 4,
    logging_steps: 1,
    learning_rate: 0.05,
  }],
];

for (const [name, extra] of OPTIONS) {
  Deno.test(`a 2-step run trains with ${name} (${JSON.stringify(extra).slice(0, 80)})`, async () => {
    const res = await run(config(name, extra));
    assertEquals(res.step, 2);
    const rows = res.rows.filter((r) => r.loss !== undefined);
    assertEquals(rows.length, 2);
    for (const r of rows) {
      assert(Number.isFinite(r.loss) && Number.isFinite(r.grad_norm), `${name}: ${JSON.stringify(r)}`);
      assert(Number.isFinite(r["rewards/odd_only/mean"]), "null scores are left out of the mean");
    }
    if (name === "mask_truncated") {
      // 6-token completions of a random model are mostly cut: their loss is masked
      assert(rows.every((r) => r["completions/masked_truncated"] > 0), JSON.stringify(rows));
    }
    if (name === "beta0" || name === "preset_trl") {
      assert(
        rows.every((r) => r["step_time/reference"] === 0 && r.kl === undefined),
        "β = 0: no reference pass",
      );
    } else assert(rows.every((r) => r["step_time/reference"] > 0), "β > 0: the reference pass is timed");
  });
}

Deno.test("β = 0: the training graph holds no reference pass (half the matmuls of β > 0 with an in-graph reference)", () => {
  const weights = model.weights;
  const lora = { r: 2, alpha: 4, targets: ["q_proj", "v_proj"] as const };
  const spec: GrpoLossSpec = {
    objective: {},
    beta: 0,
    epsilon: 0.2,
    epsilonHigh: 0.2,
    useOld: false,
    computeRef: true,
    policyMask: false,
    entropyCoef: 0,
  };
  const graph = (s: Partial<GrpoLossSpec>) =>
    buildLoraTrainGraph(model.config, weights, { lora, loss: grpoLoss({ ...spec, ...s }) });
  const count = (beta: number) =>
    graph({ beta }).nodes.filter((n) => n.opType === "MatMul" || n.opType === "Gemm").length;
  const [zero, pos] = [count(0), count(0.04)];
  assert(pos > zero, `β > 0 adds the reference pass (${pos} vs ${zero} matmuls)`);
  const g = graph({ beta: 0, computeRef: false });
  assert(!g.inputs.some((t) => t.name === "ref_logprobs"), "no ref_logprobs input at β = 0");
});

Deno.test("dynamic sampling: zero-spread groups are dropped and refilled; an unfillable batch trains on what it has, logged", async () => {
  // "first_group_flat": every completion of an even-numbered example scores 1 (no spread), others vary
  const flat: RewardFunction = {
    name: "flat",
    fn: (ctx) => ctx.completions.map((c, i) => (ctx.prompts[i].length % 2 ? 1 : c.length)),
  };
  const cfg = config("dynamic", {
    reward_funcs: ["flat"],
    dynamic_sampling: true,
    dynamic_sampling_max_rounds: 2,
  });
  const res = await run(cfg, [flat]);
  const rows = res.rows.filter((r) => r.loss !== undefined);
  for (const r of rows) {
    assert(r["dynamic_sampling/rounds"] <= 2, "bounded rounds");
    assertEquals(r["dynamic_sampling/extra_generations"] % 2, 0);
    assert(r["dynamic_sampling/train_groups"] >= 1, "trains on something");
    assert(r.frac_reward_zero_std >= 0 && r.frac_reward_zero_std <= 1);
    if (r["dynamic_sampling/filled"] === 1) assertEquals(r["dynamic_sampling/train_groups"], 4);
  }
  assert(rows.some((r) => r["dynamic_sampling/dropped_groups"] > 0), "some groups were dropped");
  // nothing ever has spread: max rounds used, nothing to refill with, the step trains on the first round
  const constant: RewardFunction = { name: "flat", fn: (ctx) => ctx.completions.map(() => 1) };
  const res2 = await run({ ...cfg, output_dir: join(ROOT, "dynamic2") }, [constant]);
  const r2 = res2.rows.filter((r) => r.loss !== undefined);
  for (const r of r2) {
    assertEquals(
      [r["dynamic_sampling/rounds"], r["dynamic_sampling/extra_generations"], r["dynamic_sampling/filled"]],
      [2, 16, 0],
    );
    assertEquals([r["dynamic_sampling/train_groups"], r.frac_reward_zero_std], [4, 1]);
  }
});
