/**
 * The loss table is the one place a loss type is declared: its rows carry the objectives, aggregations and
 * scoped options the trainer uses, and a row added from this test file (no product file edited) is accepted by
 * the config, gives the loss its row defines, and trains.
 */
import { join } from "node:path";
import { CausalLM, initLora } from "../model/mod.ts";
import { op } from "../onnx/mod.ts";
import type { RewardFunction } from "../rewards/mod.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { resolveConfig } from "./config.ts";
import {
  AGGREGATIONS,
  cispoObjective,
  clippedSurrogate,
  LOSS_TABLE,
  LOSS_TYPES,
  type LossType,
  registerLossType,
  sapoObjective,
  tokenSumLossTypes,
  tokenWeights,
} from "./losses.ts";
import { grpoStep } from "./loss_graph.ts";
import { shiftToNext } from "./token_stats.ts";
import { tinyMathExamples, writeTinyChatModel } from "./testing.ts";
import { train } from "./trainer.ts";

Deno.test("the loss table holds TRL's six loss types: objective, aggregation and scoped options per row", () => {
  assertEquals([...LOSS_TYPES].slice(0, 6), ["grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo"]);
  for (const t of ["grpo", "bnpo", "dr_grpo", "dapo"]) {
    assert(LOSS_TABLE[t].objective === clippedSurrogate, `${t} is the clipped surrogate`);
    assertEquals(LOSS_TABLE[t].options, ["delta"]);
  }
  assert(LOSS_TABLE.cispo.objective === cispoObjective && LOSS_TABLE.sapo.objective === sapoObjective);
  assertEquals(LOSS_TABLE.sapo.options, ["sapo_temperature_pos", "sapo_temperature_neg"]);
  assert(LOSS_TABLE.grpo.aggregation === AGGREGATIONS.sequence_mean, "grpo: mean of sequence means");
  assert(LOSS_TABLE.sapo.aggregation === AGGREGATIONS.sequence_mean, "sapo aggregates like grpo");
  assert(LOSS_TABLE.cispo.aggregation === AGGREGATIONS.global_token_mean, "cispo aggregates like dapo");
  assertEquals(tokenSumLossTypes().slice(0, 4), ["bnpo", "dr_grpo", "dapo", "cispo"]);
  assertThrows(() => registerLossType("dapo", LOSS_TABLE.dapo), {
    cls: Error,
    includes: "already in the table",
  });
});

// A new loss type, declared here only: half the clipped surrogate, aggregated like grpo.
const HALF = "grpo_half" as LossType;
registerLossType(HALF, {
  help: "half the clipped surrogate (a test row)",
  objective: (x, p) => op.mul(clippedSurrogate(x, p), 0.5),
  aggregation: AGGREGATIONS.sequence_mean,
  options: ["delta"],
});

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-losses-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const MODEL = join(ROOT, "model");
await writeTinyChatModel(MODEL);
const model = await CausalLM.load(MODEL, { device: "cpu", threads: 1 });

Deno.test("a loss type added from a test file: the config accepts it and checks its scoped options", () => {
  const cfg = resolveConfig({ loss_type: HALF, delta: 4 });
  assertEquals([cfg.loss_type, cfg.delta], [HALF, 4]);
  assertThrows(() => resolveConfig({ loss_type: HALF, sapo_temperature_pos: 2 }), {
    cls: UserError,
    includes: `sapo_temperature_pos = 2: only applies to loss_type "sapo" (loss_type is "grpo_half")`,
  });
  assertThrows(() => resolveConfig({ loss_type: "cispo", epsilon_high: 5, delta: 4 }), {
    cls: UserError,
    includes: `delta = 4: has no effect with loss_type "cispo" (only grpo, bnpo, dr_grpo, dapo, grpo_half)`,
  });
});

Deno.test("a loss type added from a test file gives the loss its row defines (half of grpo's, β = 0)", async () => {
  const lora = initLora(model.config, { r: 2, alpha: 4, targets: ["q_proj", "v_proj"] }, { seed: 3 });
  for (const t of lora.tensors.values()) {
    for (let i = 0; i < t.data.length; i++) t.data[i] += 0.05 * Math.sin(i + 1);
  }
  const B = 2, T = 8;
  const ids = Array.from({ length: B * T }, (_, i) => 3 + ((i * 7) % 40));
  const mask = ids.map(() => 1);
  const completion = ids.map((_, i) => (i % T >= 3 ? 1 : 0));
  const batch = { ids, mask, batch: B, length: T };
  const current = (await model.logprobs(batch, lora)).logprobs;
  const old = current.map((v, i) => v - 0.2 * Math.cos(i)); // ratios away from 1, some clipped
  const step = (lossType: LossType) =>
    grpoStep(model, {
      batch,
      lora,
      tokenWeights: shiftToNext(
        tokenWeights(completion, { batch: B, lossType, maxCompletionLength: T }),
        B,
      ),
      advantages: [0.9, -0.6],
      old,
      beta: 0,
      epsilon: 0.2,
      epsilonHigh: 0.28,
      objective: { lossType },
    });
  const [full, half] = [await step("grpo"), await step(HALF)];
  assert(Math.abs(full.loss) > 1e-4, `grpo loss ${full.loss} is not trivially 0`);
  assert(
    Math.abs(half.loss - full.loss / 2) <= 1e-6 * Math.abs(full.loss),
    `${half.loss} vs ${full.loss} / 2`,
  );
  for (const [name, g] of full.grads) {
    const h = half.grads.get(name)!.data;
    for (let i = 0; i < g.data.length; i++) {
      assert(Math.abs(h[i] - g.data[i] / 2) <= 1e-5 * Math.abs(g.data[i]) + 1e-9, `${name}[${i}]`);
    }
  }
});

Deno.test("a loss type added from a test file trains (2 steps, finite loss and gradients)", async () => {
  const rewards: RewardFunction[] = [
    { name: "digits", fn: (ctx) => ctx.completions.map((c) => (c.match(/\d/g) ?? []).length / 4) },
  ];
  const cfg = resolveConfig({
    model: MODEL,
    device: "cpu",
    threads: 1,
    output_dir: join(ROOT, "run"),
    reward_funcs: ["digits"],
    loss_type: HALF,
    max_steps: 2,
    per_device_train_batch_size: 4,
    num_generations: 2,
    max_prompt_length: 48,
    max_completion_length: 6,
    learning_rate: 0.05,
    warmup_ratio: 0,
    save_steps: 0,
    eval_steps: 0,
    eval_size: 0,
  }, { extraRewards: ["digits"] });
  const res = await train(cfg, {
    experiment: "unit",
    examples: tinyMathExamples(12),
    rewards,
    model,
    print: false,
    handleSigint: false,
    log: () => {},
  });
  const rows = res.rows.filter((r) => r.loss !== undefined);
  assertEquals([res.step, rows.length], [2, 2]);
  for (const r of rows) assert(Number.isFinite(r.loss) && Number.isFinite(r.grad_norm), JSON.stringify(r));
});
