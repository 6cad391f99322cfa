import { join } from "node:path";
import { adamwInit, CausalLM, gradNorm, initLora } from "../model/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import { resolveConfig } from "./config.ts";
import type { LossType } from "./losses.ts";
import { assembleBatch, type MicroBatch, type RolloutBatch } from "./rollout.ts";
import { accumulateGrads, lossAndGrads, optimizerStep } from "./step.ts";
import { writeTinyChatModel } from "./testing.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-step-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
await writeTinyChatModel(join(ROOT, "m"));
const model = await CausalLM.load(join(ROOT, "m"), { device: "cpu", threads: 1, tokenizer: false });

const lora = initLora(model.config, { r: 2, alpha: 4, targets: ["q_proj", "v_proj", "down_proj"] }, {
  seed: 1,
});
for (const t of lora.tensors.values()) {
  for (let i = 0; i < t.data.length; i++) t.data[i] += 0.05 * Math.sin(i + 1);
}

// Four rows with different prompt and completion lengths (two groups of two).
const PROMPTS = [[5, 6, 7], [5, 6, 7], [8, 9, 10, 11, 12], [8, 9, 10, 11, 12]];
const COMPLETIONS = [[20, 21, 22, 23], [24, 25], [26, 27, 28], [29, 30, 31, 32, 33, 34]];
const ADV = [0.7, -0.7, 1.2, -1.2];

function micro(rows: number[]): MicroBatch {
  const { batch, completionMask } = assembleBatch(
    rows.map((r) => PROMPTS[r]),
    rows.map((r) => COMPLETIONS[r]),
    { pad: 0 },
  );
  return { batch, completionMask, advantages: rows.map((r) => ADV[r]) };
}

async function withRef(mbs: MicroBatch[]): Promise<RolloutBatch> {
  for (const mb of mbs) {
    mb.ref = (await model.logprobs(mb.batch, null)).logprobs;
    const p = await model.logprobs(mb.batch, lora);
    // An older policy (shifted by a function of the predicted token, the same in any layout), so ratios clip.
    const T = mb.batch.length;
    mb.old = p.logprobs.map((v, i) => (i % T + 1 < T ? v - 0.3 * Math.cos(mb.batch.ids[i + 1]) : v));
    mb.entropy = p.entropy;
  }
  return { micro: mbs } as unknown as RolloutBatch;
}

for (const loss_type of ["dapo", "grpo", "dr_grpo"] as LossType[]) {
  Deno.test(`accumulation (${loss_type}): 2 micro-batches × 2 rows give the 1 × 4 batch loss and gradient`, async () => {
    const config = resolveConfig({ loss_type, beta: 0.04, num_iterations: 2, max_completion_length: 6 });
    const full = await lossAndGrads(model, await withRef([micro([0, 1, 2, 3])]), { lora, config });
    const split = await lossAndGrads(model, await withRef([micro([0, 1]), micro([2, 3])]), { lora, config });
    assert(Math.abs(full.loss - split.loss) < 1e-5, `loss ${full.loss} vs ${split.loss}`);
    assert(gradNorm(full.grads) > 1e-4, "gradient is not zero");
    let maxDiff = 0;
    for (const [k, g] of full.grads) {
      const h = split.grads.get(k)!.data;
      for (let i = 0; i < g.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(g.data[i] - h[i]));
    }
    assert(maxDiff < 1e-5 * Math.max(1, gradNorm(full.grads)), `max gradient difference ${maxDiff}`);
    for (const k of ["kl", "clipLow", "clipHigh", "clipRegion", "entropy"] as const) {
      assert(
        Math.abs(full.stats[k]! - split.stats[k]!) < 1e-5,
        `${k}: ${full.stats[k]} vs ${split.stats[k]}`,
      );
    }
    assert(full.stats.clipRegion > 0, "the shifted old log-probs clip some tokens");
  });
}

Deno.test("accumulateGrads sums and copies; optimizerStep clips to max_grad_norm and moves the adapter", async () => {
  const acc = new Map<string, { data: Float32Array }>();
  const g = new Float32Array([1, 2]);
  accumulateGrads(acc, new Map([["a", { data: g }]]));
  accumulateGrads(acc, new Map([["a", { data: new Float32Array([0.5, 0.5]) }]]));
  assertEquals([...acc.get("a")!.data], [1.5, 2.5]);
  assertEquals([...g], [1, 2]);
  const config = resolveConfig({ beta: 0, max_grad_norm: 1e-3, learning_rate: 1e-2 });
  const copy = initLora(model.config, lora.spec, { seed: 1 });
  for (const [k, t] of lora.tensors) copy.tensors.get(k)!.data.set(t.data);
  const before = [...copy.tensors.values()].map((t) => Float32Array.from(t.data));
  const state = adamwInit(copy.tensors);
  const res = await optimizerStep(model, { micro: [micro([0, 1, 2, 3])] } as unknown as RolloutBatch, {
    lora: copy,
    config,
    state,
    lr: 1e-2,
  });
  assert(res.gradNorm > 1e-3, `norm before clipping ${res.gradNorm} is logged`);
  assertEquals(res.kl, null);
  assertEquals(state.step, 1);
  const after = [...copy.tensors.values()];
  assert(after.some((t, i) => t.data.some((v, j) => v !== before[i][j])), "the adapter changed");
});

Deno.test("optimizer steps on fixed rollouts raise the advantage-weighted log-likelihood Σ A·log p", async () => {
  const config = resolveConfig({ beta: 0, learning_rate: 1e-2, max_grad_norm: 0 });
  const policy = initLora(model.config, lora.spec, { seed: 2 });
  const rollouts = { micro: [micro([0, 1, 2, 3])] } as unknown as RolloutBatch;
  const mb = rollouts.micro[0], T = mb.batch.length;
  const objective = async () => {
    const { logprobs } = await model.logprobs(mb.batch, policy);
    let s = 0;
    for (let i = 0; i + 1 < logprobs.length; i++) {
      if ((i + 1) % T && mb.completionMask[i + 1]) s += mb.advantages[Math.floor(i / T)] * logprobs[i];
    }
    return s;
  };
  const state = adamwInit(policy.tensors);
  const values = [await objective()];
  for (let k = 0; k < 3; k++) {
    await optimizerStep(model, rollouts, { lora: policy, config, state, lr: 1e-2 });
    values.push(await objective());
  }
  for (let k = 1; k < values.length; k++) {
    assert(values[k] > values[k - 1], `Σ A·log p: ${values.join(" → ")}`);
  }
});
