/**
 * The importance-sampling correction of quantized rollouts: the pure function's modes and statistics, and
 * agreement with the PyTorch float64 oracle extended by a per-token weight that multiplies the per-token
 * policy loss, β·KL added unweighted as in TRL (the weight computed independently in float64 in Python from
 * the same log-probs).
 */
import { samplingCorrection, type SamplingCorrectionMode, shiftToNext } from "./token_stats.ts";
import { microBatchWeights, objectiveInputs } from "./step.ts";
import { grpoStep } from "./loss_graph.ts";
import { resolveConfig } from "./config.ts";
import { readOracleCase } from "./oracle_case.ts";
import {
  CausalLM,
  loadModelConfig,
  loadModelWeights,
  type LoraAdapter,
  readSafetensors,
  type Weight,
} from "../model/mod.ts";
import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";

Deno.test("samplingCorrection: token/sequence × truncate/mask, statistics over masked tokens", () => {
  const mask = [0, 1, 1, 0, /* row 2 */ 0, 1, 1, 1];
  const train = [9, -1, -2, 9, 9, -1, -1, -1];
  const sampling = [0, -2, -1.5, 0, 0, -1, -1.2, -3];
  const d = train.map((t, i) => t - sampling[i]); // 1, −0.5 | 0, 0.2, 2 on the masked tokens
  const run = (mode: SamplingCorrectionMode) =>
    samplingCorrection({ train, sampling, mask }, { batch: 2, mode, cap: 3 });
  const tt = run("token_truncate");
  assertAlmostEquals(tt.weights[1], Math.E, { tol: 1e-12 });
  assertAlmostEquals(tt.weights[7], 3, { tol: 1e-12 }); // e² truncated at 3
  assertEquals(tt.weights[0], 1); // outside the mask: untouched
  const tm = run("token_mask");
  assertEquals(tm.weights[7], 0); // e² > 3: masked
  assertAlmostEquals(tm.weights[2], Math.exp(-0.5), { tol: 1e-12 });
  const st = run("sequence_truncate");
  assertAlmostEquals(st.weights[1], Math.exp(0.5), { tol: 1e-12 });
  assertAlmostEquals(st.weights[6], 3, { tol: 1e-12 }); // e^2.2 truncated
  assertEquals(st.count, 2);
  const sm = run("sequence_mask");
  assertEquals(sm.weights[5], 0);
  assertAlmostEquals(tt.diffMean, (1 + 0.5 + 0 + 0.2 + 2) / 5, { tol: 1e-12 });
  assertAlmostEquals(tt.diffMax, 2, { tol: 1e-12 });
  assertAlmostEquals(tt.ratioMin, Math.exp(-0.5), { tol: 1e-12 });
  assertAlmostEquals(tt.ratioMax, 3, { tol: 1e-12 });
  assertEquals(d.length, 8);
});

const ORACLE = new URL("../../../shared/oracle/grpo_reference.py", import.meta.url).pathname;
const PY = "/usr/bin/python3";
const missing = (() => {
  try {
    Deno.statSync(ORACLE);
    const r = new Deno.Command(PY, { args: ["-c", "import torch, numpy"], stderr: "null" }).outputSync();
    return r.success ? null : "python3-torch is not installed";
  } catch {
    return `${ORACLE} or ${PY} not found`;
  }
})();
if (missing) console.warn(`SKIPPED sampling-correction oracle test: ${missing}`);

/** Deterministic sampler log-probs: the case's old log-probs plus a spread of mismatches. */
const samplerLogprob = (old: number, i: number) => old + 0.6 * Math.sin(1.7 * i);

for (const mode of ["token_truncate", "sequence_mask"] as const) {
  Deno.test({
    name: `quantized-rollout correction (${mode}) matches the oracle with a per-token weight on the loss`,
    ignore: missing !== null,
    sanitizeResources: false,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "is-oracle-" });
      const cap = mode === "token_truncate" ? 1.3 : 6;
      // dr_grpo, β > 0, old log-probs shifted, as in training; the weight multiplies the policy term only
      const driver = `
import sys, json, argparse, importlib.util, math
import numpy as np
spec = importlib.util.spec_from_file_location("oracle", ${JSON.stringify(ORACLE)})
o = importlib.util.module_from_spec(spec); spec.loader.exec_module(o)
d = ${JSON.stringify(dir)}
o.make_model(f"{d}/m", "tiny", 0)
a = argparse.Namespace(model=f"{d}/m", out=f"{d}/case.json", seed=11, batch=3, prompt=5, completion=7, rank=4,
    alpha=8.0, targets="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", loss_type="dr_grpo", beta=0.04,
    epsilon=0.2, epsilon_high=0.28, old_shift=0.1, importance_sampling_level="token", delta=None,
    sapo_temperature_pos=1.0, sapo_temperature_neg=1.05)
o.make_case(a)
c = json.load(open(a.out))
old = np.array(c["old_logprobs"], dtype=np.float64); cm = np.array(c["completion_mask"], dtype=np.float64)
B, T = old.shape
samp = np.array([[old[b, t] + 0.6 * math.sin(1.7 * (b * T + t)) for t in range(T)] for b in range(B)])
cap = ${cap}
if ${JSON.stringify(mode)} == "token_truncate":
    w = np.minimum(np.exp(old - samp), cap)
else:
    r = np.exp(((old - samp) * cm).sum(-1, keepdims=True))
    w = np.where(r > cap, 0.0, r) * np.ones_like(old)
# expected = policy term weighted by w + the β·KL term unweighted, from three float64 oracle runs:
# (β = 0, mask·w) + (β, mask) − (β = 0, mask); the dr_grpo denominator does not depend on the mask
def run(name, beta, mask):
    cc = dict(c, beta=beta, completion_mask=mask.tolist())
    json.dump(cc, open(f"{d}/{name}.json", "w"))
    import shutil; shutil.copy(f"{d}/case.lora.safetensors", f"{d}/{name}.lora.safetensors")
    o.grad(argparse.Namespace(model=a.model, case=f"{d}/{name}.json", out=f"{d}/{name}.ref.safetensors"))
run("weighted", 0.0, cm * w)
run("full", c["beta"], cm)
run("policy", 0.0, cm)
`;
      const r = await new Deno.Command(PY, { args: ["-c", driver], stdout: "null", stderr: "piped" })
        .output();
      if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
      const c = await readOracleCase(`${dir}/case.json`);
      const B = c.input_ids.length, T = c.input_ids[0].length;
      const oldTok = c.old_logprobs!.flat(), cm = c.completion_mask.flat();
      const batch = { ids: c.input_ids.flat(), mask: c.attention_mask.flat(), batch: B, length: T };
      const config = resolveConfig({
        loss_type: "dr_grpo",
        max_completion_length: c.max_completion_length,
        per_device_train_batch_size: B,
        num_generations: B,
        rollout_quantization: "int4",
        rollout_importance_sampling_mode: mode,
        rollout_importance_sampling_cap: cap,
      });
      const mb = {
        batch,
        completionMask: Float64Array.from(cm),
        advantages: c.advantages,
        old: Float32Array.from(shiftToNext(oldTok, B)),
        sampling: Float32Array.from(shiftToNext(oldTok.map((v, i) => samplerLogprob(v, i)), B)),
      };
      const weights = microBatchWeights(mb, { config, globalSequences: B, globalTokens: 0, accumulation: 1 });
      const { correction, ...extra } = objectiveInputs(mb, { config, globalTokens: 0, accumulation: 1 });
      assert(correction !== undefined && extra.policyMask !== undefined, "no correction computed");
      const cfg = await loadModelConfig(`${dir}/m`);
      const model = new CausalLM({
        dir: `${dir}/m`,
        config: cfg,
        weights: await loadModelWeights(`${dir}/m`) as unknown as Map<string, Weight>,
      }, { device: "cpu" });
      const read = await readSafetensors(`${dir}/case.lora.safetensors`);
      const lora: LoraAdapter = {
        spec: c.lora,
        baseModel: "",
        tensors: new Map([...read].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])),
      };
      const out = await grpoStep(model, {
        ...extra,
        batch,
        lora,
        tokenWeights: weights,
        advantages: c.advantages,
        old: shiftToNext(oldTok, B),
        beta: c.beta,
        epsilon: c.epsilon,
        epsilonHigh: c.epsilon_high ?? c.epsilon,
      });
      await model.release();
      const [wt, full, pol] = await Promise.all(
        ["weighted", "full", "policy"].map((n) => readSafetensors(`${dir}/${n}.ref.safetensors`)),
      );
      const ref = new Map([...wt].map(([k, t]) => {
        const f = full.get(k)!.data, p = pol.get(k)!.data;
        const data = new Float64Array(t.data.length);
        for (let i = 0; i < data.length; i++) data[i] = Number(t.data[i]) + Number(f[i]) - Number(p[i]);
        return [k, { data }];
      }));
      // the β·KL part is large enough that weighting it too would fail the 1e-4 tolerance (≈ 1 % of the loss)
      const klShare = (Number(full.get("loss")!.data[0]) - Number(pol.get("loss")!.data[0])) /
        Number(wt.get("loss")!.data[0]);
      assert(Math.abs(klShare) > 1e-3, `β·KL is only ${klShare} of the loss`);
      const rel = (a: ArrayLike<number>, e: ArrayLike<number | bigint>) => {
        let diff = 0, norm = 0;
        for (let i = 0; i < e.length; i++) diff += (Number(e[i]) - a[i]) ** 2, norm += Number(e[i]) ** 2;
        return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
      };
      const lossRel = rel([out.loss], ref.get("loss")!.data);
      assert(lossRel <= 1e-4, `loss ${out.loss} vs oracle ${ref.get("loss")!.data[0]} (rel ${lossRel})`);
      for (const [name, g] of out.grads) {
        const e = rel(g.data, ref.get(name)!.data);
        assert(e <= 1e-4, `${name}: rel. error ${e.toExponential(2)}`);
      }
      await Deno.remove(dir, { recursive: true });
    },
  });
}
