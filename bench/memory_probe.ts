/**
 * `deno run -A bench/memory_probe.ts [--layers 30] [--prepack true|false] [--pattern true|false] [--arena false]
 * [--checkpointing true] [--steps 2]` (prepack and pattern: the session defaults when absent)
 *
 * Where the memory of one GRPO step goes: peak RSS (VmHWM) after loading the weights, after the first step
 * (session creation + run) and after the next steps, on the benchmark's SmolLM2-135M-shaped workload with an
 * adjustable layer count. Each configuration runs in its own process (VmHWM never goes down).
 * @module
 */
import { join } from "node:path";
import { prepareWorkload, SMOL135M } from "./workload.ts";
import { peakRssBytes } from "./limits.ts";
import { CausalLM, readSafetensors } from "../lib/model/mod.ts";
import { grpoStep, readOracleCase, shiftToNext, tokenWeights } from "../lib/grpo/mod.ts";
import { parseFlags, runMain } from "../lib/util/mod.ts";

const rss = () => {
  const m = Deno.readTextFileSync("/proc/self/status").match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : 0;
};
const gb = (b: number) => (b / 1e9).toFixed(2);

await runMain(async () => {
  const { values } = parseFlags(Deno.args, {
    layers: { type: "string", default: "30" },
    prepack: { type: "string", default: "" },
    arena: { type: "string", default: "true" },
    pattern: { type: "string", default: "" },
    steps: { type: "string", default: "2" },
    checkpointing: { type: "string", default: "false" },
  });
  const layers = Number(values.layers);
  const dir = join("outputs/bench", `mem${layers}`);
  const { modelDir, casePath } = await prepareWorkload(dir, { ...SMOL135M, num_hidden_layers: layers });
  const model = await CausalLM.load(modelDir, {
    device: "cpu",
    threads: 2,
    tokenizer: false,
    prepack: values.prepack ? values.prepack === "true" : undefined,
    memArena: values.arena !== "false",
    memPattern: values.pattern ? values.pattern === "true" : undefined,
    gradientCheckpointing: values.checkpointing === "true",
  });
  console.log(`layers ${layers}: after load peak ${gb(peakRssBytes())} GB`);
  const c = await readOracleCase(casePath);
  const read = await readSafetensors(casePath.replace(/\.json$/, ".lora.safetensors"));
  const lora = {
    spec: c.lora,
    baseModel: model.dir,
    tensors: new Map([...read].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])),
  };
  const B = c.input_ids.length, T = c.input_ids[0].length;
  const batch = { ids: c.input_ids.flat(), mask: c.attention_mask.flat(), batch: B, length: T };
  const w = shiftToNext(
    tokenWeights(c.completion_mask.flat(), { batch: B, lossType: c.loss_type, maxCompletionLength: T }),
    B,
  );
  for (let i = 0; i < Number(values.steps); i++) {
    const t0 = performance.now();
    const r = await grpoStep(model, {
      batch,
      lora,
      tokenWeights: w,
      advantages: c.advantages,
      beta: c.beta,
      epsilon: c.epsilon,
      epsilonHigh: c.epsilon_high ?? c.epsilon,
    });
    console.log(
      `step ${i}: ${((performance.now() - t0) / 1000).toFixed(2)} s, loss ${r.loss.toFixed(6)}, peak ${
        gb(peakRssBytes())
      } GB, now ${gb(rss())} GB`,
    );
  }
  await model.release();
});
