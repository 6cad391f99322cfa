/**
 * `deno run -A [--v8-flags=--expose-gc] bench/memory_probe.ts [--layers 30] [--prepack true|false]
 * [--pattern true|false] [--arena false] [--checkpointing true] [--steps 2] [--dir SCRATCH]`
 * (prepack and pattern: the session defaults when absent)
 *
 * Where the memory of one GRPO step goes: resident memory (VmRSS, split into anonymous and file-backed pages)
 * and its peak (VmHWM) after loading the weights, after the first step (session creation + run) and after the
 * next steps, on the benchmark's SmolLM2-135M-shaped workload with an adjustable layer count. Each
 * configuration runs in its own process (VmHWM never goes down). With `--expose-gc`, a full garbage
 * collection runs before each reading, so what remains is live.
 * @module
 */
import { join } from "node:path";
import { prepareWorkload, SMOL135M } from "./workload.ts";
import { CausalLM } from "../lib/model/mod.ts";
import { grpoStep, readOracleStepInputs } from "../lib/grpo/mod.ts";
import { parseFlags, runMain } from "../lib/util/mod.ts";
import { benchScratchDir } from "./scratch.ts";

/** Resident memory now: total, anonymous, file-backed, and the peak (bytes). */
export function residentMemory(): { rss: number; anon: number; file: number; peak: number } {
  try {
    const s = Deno.readTextFileSync("/proc/self/status");
    const kb = (k: string) => Number(s.match(new RegExp(`${k}:\\s+(\\d+) kB`))?.[1] ?? 0) * 1024;
    return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile"), peak: kb("VmHWM") };
  } catch {
    return { rss: 0, anon: 0, file: 0, peak: 0 };
  }
}

const gb = (b: number) => (b / 1e9).toFixed(2);
const line = () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = residentMemory();
  return `now ${gb(m.rss)} GB (anon ${gb(m.anon)}, file ${gb(m.file)}), peak ${gb(m.peak)} GB`;
};

if (import.meta.main) {
  await runMain(async () => {
    const { values } = parseFlags(Deno.args, {
      layers: { type: "string", default: "30" },
      prepack: { type: "string", default: "" },
      arena: { type: "string", default: "true" },
      pattern: { type: "string", default: "" },
      steps: { type: "string", default: "2" },
      checkpointing: { type: "string", default: "false" },
      dir: { type: "string" },
    });
    const layers = Number(values.layers);
    const dir = join(benchScratchDir(values.dir), `mem${layers}`);
    const { modelDir, casePath } = await prepareWorkload(dir, { ...SMOL135M, num_hidden_layers: layers });
    console.log(`layers ${layers}: start ${line()}`);
    const model = await CausalLM.load(modelDir, {
      device: "cpu",
      threads: 2,
      tokenizer: false,
      prepack: values.prepack ? values.prepack === "true" : undefined,
      memArena: values.arena !== "false",
      memPattern: values.pattern ? values.pattern === "true" : undefined,
      gradientCheckpointing: values.checkpointing === "true",
    });
    console.log(`after load (${gb(model.weightBytes())} GB of weights): ${line()}`);
    const { step } = await readOracleStepInputs(casePath, {
      baseModel: model.dir,
    });
    for (let i = 0; i < Number(values.steps); i++) {
      const t0 = performance.now();
      const r = await grpoStep(model, step);
      const s = ((performance.now() - t0) / 1000).toFixed(2);
      console.log(`step ${i}: ${s} s, loss ${r.loss.toFixed(6)}, ${line()}`);
    }
    await model.release();
    console.log(`after release: ${line()}`);
  });
}
