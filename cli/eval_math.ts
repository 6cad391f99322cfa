/**
 * `deno task eval-math --model DIR [--adapter DIR] [--dataset synthetic|gsm8k|PATH] [--n 200] [--device cpu]
 *  [--samples 4] [--temperature 1] [--seed 0]`
 * Held-out math metrics with 95 % Wilson intervals: strict greedy accuracy (answer only from the
 * `<answer>…</answer>` slot), lenient greedy accuracy (fallback chain), format rate, mean@k (k samples per
 * problem at `--temperature`; `--samples 0` skips them) and, from the same samples, pass@1 / pass@4 / pass@16
 * (those ≤ k; unbiased estimator, strict and lenient: `--samples 16` for all three). The last line is exactly
 * `accuracy: <fraction> (<correct>/<n>)`, the strict accuracy.
 * `synthetic` is the tiny model's 200 held-out generated problems; `gsm8k` the GSM8K test split from the hub
 * (or `../shared/data/gsm8k/test.jsonl` when present); a path is a local GSM8K-style `.jsonl`.
 * @module
 */
import { CausalLM, loadLora } from "../lib/model/mod.ts";
import { loadGsm8k, type MathExample } from "../lib/data/mod.ts";
import { heldOutProblems } from "../lib/pretrain/mod.ts";
import { evaluateMath, formatAccuracy, formatMathReport } from "../lib/eval/mod.ts";
import { parseFlags, runMain, UserError } from "../lib/util/mod.ts";
import type { Device } from "../lib/onnx/mod.ts";

const SHARED_TEST = new URL("../../shared/data/gsm8k/test.jsonl", import.meta.url).pathname;

async function problems(dataset: string, n: number): Promise<MathExample[]> {
  if (dataset === "synthetic") return heldOutProblems(n, 0);
  if (dataset === "gsm8k") {
    const local = await Deno.stat(SHARED_TEST).then(() => true, () => false);
    return (await loadGsm8k(local ? SHARED_TEST : "openai/gsm8k", { split: "test", limit: n })).rows;
  }
  return (await loadGsm8k(dataset, { limit: n })).rows;
}

await runMain(async () => {
  const { values } = parseFlags(Deno.args, {
    model: { type: "string", default: "data/tiny" },
    adapter: { type: "string" },
    dataset: { type: "string", default: "synthetic" },
    n: { type: "string", default: "200" },
    device: { type: "string", default: "auto" },
    "max-new-tokens": { type: "string", default: "128" },
    samples: { type: "string", default: "4" },
    temperature: { type: "string", default: "1" },
    seed: { type: "string", default: "0" },
  });
  const n = Number(values.n);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--n must be a positive integer, got "${values.n}"`);
  const maxNew = Number(values["max-new-tokens"]);
  if (!Number.isInteger(maxNew) || maxNew < 1) {
    throw new UserError(`--max-new-tokens must be a positive integer, got "${values["max-new-tokens"]}"`);
  }
  const k = Number(values.samples), temperature = Number(values.temperature), seed = Number(values.seed);
  if (!Number.isInteger(k) || k < 0) {
    throw new UserError(`--samples must be a non-negative integer, got "${values.samples}"`);
  }
  if (!(temperature > 0)) throw new UserError(`--temperature must be > 0, got "${values.temperature}"`);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new UserError(`--seed must be a non-negative integer, got "${values.seed}"`);
  }
  const model = await CausalLM.load(values.model!, { device: values.device as Device });
  const lora = values.adapter ? await loadLora(values.adapter, model.config) : null;
  const probs = await problems(values.dataset!, n);
  console.error(
    `eval-math: ${probs.length} problems from ${values.dataset}, model ${values.model}${
      lora ? ` + ${values.adapter}` : ""
    }`,
  );
  const r = await evaluateMath(model, probs, {
    lora,
    maxNewTokens: maxNew,
    progress: true,
    samples: k,
    temperature,
    seed,
  });
  await model.release();
  for (const line of formatMathReport(r)) console.log(line);
  console.log(formatAccuracy(r));
});
