/**
 * transformers.js as a decoding peer: the same weights exported in transformers.js layout
 * (`lib/model/export_tfjs.ts`), timed with its own `generate()`.
 * @module
 */
import { CausalLM } from "../lib/model/mod.ts";
import { WORK } from "./workload.ts";

/** New tokens/s of transformers.js `generate()` (8 × 128 sampled tokens), or null when it cannot run. */
export async function timeTransformersJs(
  modelDir: string,
  o: { threads: number; dir: string },
): Promise<number | null> {
  try {
    const { exportTransformersJs } = await import("../lib/model/mod.ts");
    // @ts-types="../lib/model/hf_transformers.d.ts"
    const tf = await import("@huggingface/transformers");
    const model = await CausalLM.load(modelDir, { device: "cpu", tokenizer: false });
    await exportTransformersJs(model, o.dir, { tokenizer: false });
    await model.release();
    // deno-lint-ignore no-explicit-any
    const t: any = tf;
    t.env.allowRemoteModels = false;
    t.env.allowLocalModels = true;
    const lm = await t.AutoModelForCausalLM.from_pretrained(o.dir, {
      dtype: "fp32",
      session_options: { intraOpNumThreads: o.threads, interOpNumThreads: 1 },
    });
    const ids = Array.from(
      { length: WORK.batch },
      (_, b) => Array.from({ length: WORK.prompt }, (_, i) => 2 + ((b * 131 + i * 17) % 4000)),
    );
    const input_ids = new t.Tensor("int64", BigInt64Array.from(ids.flat(), BigInt), [
      WORK.batch,
      WORK.prompt,
    ]);
    const attention_mask = new t.Tensor("int64", new BigInt64Array(WORK.batch * WORK.prompt).fill(1n), [
      WORK.batch,
      WORK.prompt,
    ]);
    const gen = () =>
      lm.generate({
        input_ids,
        attention_mask,
        max_new_tokens: WORK.completion,
        min_new_tokens: WORK.completion,
        do_sample: true,
      });
    await lm.generate({ input_ids, attention_mask, max_new_tokens: 2, do_sample: true });
    const t0 = performance.now();
    await gen();
    const rate = (WORK.batch * WORK.completion) / ((performance.now() - t0) / 1000);
    console.error(`  transformers.js decode: ${rate.toFixed(1)} tokens/s`);
    await lm.dispose?.();
    return rate;
  } catch (e) {
    console.error(`  transformers.js peer failed: ${String((e as Error).message ?? e).split("\n")[0]}`);
    return null;
  }
}
