/**
 * Agreement with the independent PyTorch float64 reference (`../shared/oracle/grpo_reference.py`) for the
 * presets in {@linkcode PRESETS}, the loss family in `VARIANTS` (every loss type, GSPO, two-sided clipping),
 * β = 0 and β > 0, with and without old log-probs.
 */
import { runOracleCase } from "./oracle_case.ts";
import { readSafetensors } from "../model/safetensors.ts";
import { assert } from "../util/assert.ts";

const ORACLE = new URL("../../../shared/oracle/grpo_reference.py", import.meta.url).pathname;
const PY = "/usr/bin/python3";

function torchAvailable(): string | null {
  try {
    Deno.statSync(ORACLE);
  } catch {
    return `${ORACLE} not found`;
  }
  try {
    const r = new Deno.Command(PY, { args: ["-c", "import torch, numpy"], stderr: "null" }).outputSync();
    return r.success ? null : "python3-torch is not installed (apt-get install -y python3-torch)";
  } catch {
    return `${PY} not found`;
  }
}

const missing = torchAvailable();
if (missing) console.warn(`SKIPPED oracle agreement tests: ${missing}`);

/** Model presets of the oracle (`make-model --preset`); add one here to check a new architecture. */
export const PRESETS = ["tiny", "qwen2ish", "qwen3ish"];

/** One case's options beyond preset, β and old log-probs (oracle `make-case` names, snake_case). */
interface Variant {
  loss_type: string;
  importance_sampling_level?: "token" | "sequence";
  delta?: number;
  epsilon_high?: number;
  sapo_temperature_pos?: number;
  sapo_temperature_neg?: number;
}

/**
 * The loss family: the four aggregations of the clipped surrogate, CISPO (ε_high = 1.02 so that some
 * ratios are capped and some not), SAPO (non-default temperatures), GSPO's sequence-level ratio with
 * grpo, sapo and a token-summing loss (dapo), and two-sided clipping (δ = 1.05: near the old-shift
 * ratios, so it binds on some tokens). Each runs at β ∈ {0, 0.04} × old log-probs {none, shifted}.
 */
const VARIANTS: Variant[] = [
  { loss_type: "grpo" },
  { loss_type: "bnpo" },
  { loss_type: "dr_grpo" },
  { loss_type: "dapo" },
  { loss_type: "cispo", epsilon_high: 1.02 },
  { loss_type: "sapo", sapo_temperature_pos: 1.3, sapo_temperature_neg: 0.7 },
  { loss_type: "grpo", importance_sampling_level: "sequence" },
  { loss_type: "sapo", importance_sampling_level: "sequence" },
  { loss_type: "dapo", importance_sampling_level: "sequence" },
  { loss_type: "dapo", delta: 1.05 },
];

const variantName = (v: Variant) =>
  Object.entries(v).map(([k, x]) => (k === "loss_type" ? x : `${k}=${x}`)).join(",");

const CASES = PRESETS.flatMap((preset) =>
  VARIANTS.flatMap((v, vi) =>
    [0, 0.04].flatMap((beta) =>
      [0, 0.1].map((old) => ({ preset, v, beta, old, name: `${preset}_${vi}_${beta}_${old}` }))
    )
  )
);

/** One python process makes the models, the cases and the reference gradients (torch loads once). */
async function makeReferences(dir: string): Promise<void> {
  const driver = `
import sys, argparse, importlib.util
spec = importlib.util.spec_from_file_location("oracle", ${JSON.stringify(ORACLE)})
o = importlib.util.module_from_spec(spec); spec.loader.exec_module(o)
d = ${JSON.stringify(dir)}
for preset in ${JSON.stringify(PRESETS)}:
    o.make_model(f"{d}/{preset}", preset, 0)
for c in ${JSON.stringify(CASES)}:
    name = f"{d}/{c['name']}"
    v = dict(importance_sampling_level="token", delta=None, epsilon_high=0.28, sapo_temperature_pos=1.0,
             sapo_temperature_neg=1.05)
    v.update(c["v"])
    a = argparse.Namespace(model=f"{d}/{c['preset']}", out=name + ".json", seed=5, batch=3, prompt=5, completion=7,
        rank=4, alpha=8.0, targets="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
        beta=c["beta"], epsilon=0.2, old_shift=c["old"], **v)
    o.make_case(a)
    o.grad(argparse.Namespace(model=a.model, case=a.out, out=name + ".ref.safetensors"))
`;
  const r = await new Deno.Command(PY, { args: ["-c", driver], stdout: "null", stderr: "piped" }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
}

/**
 * CISPO's loss value is Σ w·c·A·logp: per-token terms of size |A·logp| ≈ 5 that cancel to ≈ 0.02, which
 * float32 log-probs cannot resolve to 1e-4 of the sum (measured: 3.7e-6 absolute, 1.8e-4 relative on
 * qwen2ish). Its loss is compared relative to the terms' mean size, mean |A·logp| over completion tokens;
 * its gradients and log-probs, like every other tensor, relative to their own norm.
 */
function cispoTermSize(name: string, ref: Map<string, { data: ArrayLike<number | bigint> }>): number {
  const c = JSON.parse(Deno.readTextFileSync(`${name}.json`));
  const lp = ref.get("logprobs")!.data, T = c.input_ids[0].length;
  let s = 0, n = 0;
  (c.completion_mask as number[][]).flat().forEach((m, i) => {
    if (m) s += Math.abs(c.advantages[Math.floor(i / T)] * Number(lp[i])), n++;
  });
  return s / Math.max(n, 1);
}

Deno.test({
  name:
    `gradients, loss and log-probs agree with the PyTorch oracle (rel. err ≤ 1e-4, ${CASES.length} cases)`,
  ignore: missing !== null,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "oracle-" });
    await makeReferences(dir);
    const failures: string[] = [];
    for (const [ci, c] of CASES.entries()) {
      const name = `${dir}/${c.name}`;
      // alternate where the reference log-probs come from: inside the GRPO graph, or the log-probs graph
      const refFrom = ci % 2 ? "separate" : "graph";
      const ours = await runOracleCase(`${dir}/${c.preset}`, `${name}.json`, { device: "cpu", ref: refFrom });
      const ref = await readSafetensors(`${name}.ref.safetensors`);
      assert(ref.size === ours.size, `${name}: ${ours.size} tensors, oracle has ${ref.size}`);
      for (const [k, e] of ref) {
        const a = ours.get(k);
        if (!a) {
          failures.push(`${name}: missing ${k}`);
          continue;
        }
        let diff = 0, norm = 0;
        for (let i = 0; i < e.data.length; i++) {
          diff += (Number(e.data[i]) - a.data[i]) ** 2;
          norm += Number(e.data[i]) ** 2;
        }
        const size = k === "loss" && c.v.loss_type === "cispo" ? cispoTermSize(name, ref) : 0;
        const rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), size, 1e-12);
        if (!(rel <= 1e-4)) {
          failures.push(
            `${c.preset} ${variantName(c.v)} β=${c.beta} old=${c.old} ${k}: ${rel.toExponential(2)}`,
          );
        }
      }
    }
    assert(failures.length === 0, failures.slice(0, 10).join("\n"));
  },
});
