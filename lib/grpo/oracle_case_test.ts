/**
 * Agreement with the independent PyTorch float64 reference (`../shared/oracle/grpo_reference.py`) for the
 * tiny, qwen2ish and qwen3ish presets (Llama; Qwen2 biases and tied head; Qwen3 q/k norms and a head_dim apart
 * from hidden / heads), every loss type, β = 0 and β > 0, with and without old log-probs.
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

const PRESETS = ["tiny", "qwen2ish", "qwen3ish"];
const LOSS = ["grpo", "bnpo", "dr_grpo", "dapo"];
const CASES = PRESETS.flatMap((preset) =>
  LOSS.flatMap((lt) => [0, 0.04].flatMap((beta) => [0, 0.1].map((old) => ({ preset, lt, beta, old }))))
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
    name = f"{d}/{c['preset']}_{c['lt']}_{c['beta']}_{c['old']}"
    a = argparse.Namespace(model=f"{d}/{c['preset']}", out=name + ".json", seed=5, batch=3, prompt=5, completion=7,
        rank=4, alpha=8.0, targets="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", loss_type=c["lt"],
        beta=c["beta"], epsilon=0.2, epsilon_high=0.28, old_shift=c["old"], importance_sampling_level="token",
        delta=None, sapo_temperature_pos=1.0, sapo_temperature_neg=1.05)
    o.make_case(a)
    o.grad(argparse.Namespace(model=a.model, case=a.out, out=name + ".ref.safetensors"))
`;
  const r = await new Deno.Command(PY, { args: ["-c", driver], stdout: "null", stderr: "piped" }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
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
      const name = `${dir}/${c.preset}_${c.lt}_${c.beta}_${c.old}`;
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
        const rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
        if (!(rel <= 1e-4)) {
          failures.push(`${c.preset} ${c.lt} β=${c.beta} old=${c.old} ${k}: ${rel.toExponential(2)}`);
        }
      }
    }
    assert(failures.length === 0, failures.slice(0, 10).join("\n"));
  },
});
