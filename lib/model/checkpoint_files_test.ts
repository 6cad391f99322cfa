/**
 * Checkpoints as people download them: float16 / bfloat16 weights (widened to float32 on load) and sharded
 * `model.safetensors.index.json` folders, written here; and the one-line errors for files that do not fit.
 */
import { join } from "node:path";
import { CausalLM } from "./causal_lm.ts";
import { writeRandomModel } from "./testing.ts";
import { readSafetensors } from "./safetensors.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-ckpt-files-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const QWEN3 = {
  model_type: "qwen3",
  head_dim: 6,
  tie_word_embeddings: true,
  vocab_size: 40,
  seed: 7,
} as const;
const load = (dir: string) => CausalLM.load(dir, { device: "cpu", tokenizer: false, threads: 1 });
const batch = {
  ids: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  mask: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
  batch: 2,
  length: 5,
};

Deno.test("checkpoint files: F16 and BF16 weights in 3 shards load as float32, equal to the rounded float32 model", async () => {
  const f32Dir = join(ROOT, "f32");
  await writeRandomModel(f32Dir, QWEN3);
  const f32 = await readSafetensors(join(f32Dir, "model.safetensors"));
  const base = await load(f32Dir);
  const baseLp = (await base.logprobs(batch)).logprobs;
  for (const dtype of ["F16", "BF16"] as const) {
    const dir = join(ROOT, dtype);
    const cfg = await writeRandomModel(dir, { ...QWEN3, dtype, shards: 3 });
    assertEquals(cfg.torch_dtype, dtype === "F16" ? "float16" : "bfloat16");
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(files.filter((f) => f.endsWith(".safetensors")).length, 3);
    assert(files.includes("model.safetensors.index.json") && !files.includes("model.safetensors"));
    const m = await load(dir);
    assertEquals(m.weights.size, f32.size);
    let mismatched = 0;
    for (const [name, t] of f32) {
      const w = m.weights.get(name)!;
      assert(w.data instanceof Float32Array, `${name} is float32 in memory`);
      const src = t.data as Float32Array;
      const rounded = dtype === "F16" ? f16ToF32(f32ToF16(src)) : bf16ToF32(f32ToBf16(src));
      for (let i = 0; i < src.length; i++) if (w.data[i] !== rounded[i]) mismatched++;
    }
    assertEquals(mismatched, 0);
    // the rounded model computes what the float32 one does, to the 16-bit rounding
    const lp = (await m.logprobs(batch)).logprobs;
    const tol = dtype === "F16" ? 5e-3 : 5e-2;
    for (let i = 0; i < lp.length; i++) {
      assert(Math.abs(lp[i] - baseLp[i]) <= tol, `${dtype} log-prob ${i}: ${lp[i]} vs ${baseLp[i]}`);
    }
    await m.release();
  }
  await base.release();
});

/** The message of the UserError `fn` rejects with (and that it is one line). */
async function oneLineError(fn: () => Promise<unknown>, includes: string): Promise<string> {
  const e = await assertRejects(fn, { cls: UserError, includes: includes });
  const msg = (e as Error).message;
  assert(!msg.includes("\n"), `one line: ${msg}`);
  return msg;
}

Deno.test("checkpoint files: unknown architecture, a shape that does not fit, a missing shard → one-line UserErrors", async () => {
  const dir = join(ROOT, "bad");
  await writeRandomModel(dir, { ...QWEN3, shards: 2 });
  const cfgPath = join(dir, "config.json"), good = await Deno.readTextFile(cfgPath);
  const edit = (patch: Record<string, unknown>) =>
    Deno.writeTextFile(cfgPath, JSON.stringify({ ...JSON.parse(good), ...patch }));

  await edit({ architectures: ["Qwen3MoeForCausalLM"], model_type: "qwen3_moe" });
  await oneLineError(() => load(dir), `architecture "Qwen3MoeForCausalLM" is not supported`);
  await edit({ architectures: undefined, model_type: "mamba" });
  await oneLineError(() => load(dir), `model_type "mamba" is not supported`);

  // config says head_dim 8, the weights were made with 6: q_proj is the first tensor that does not fit
  await edit({ head_dim: 8 });
  await oneLineError(
    () => load(dir),
    "model.layers.0.self_attn.q_proj.weight has shape [24,16], config expects [32,16]",
  );
  await edit({ vocab_size: 41 });
  await oneLineError(() => load(dir), "model.embed_tokens.weight has shape [40,16], config expects [41,16]");
  await Deno.writeTextFile(cfgPath, good);

  const second = "model-00002-of-00002.safetensors";
  await Deno.rename(join(dir, second), join(dir, "moved.safetensors"));
  const msg = await oneLineError(() => load(dir), `shard ${second} is missing`);
  assert(msg.includes(join(dir, "model.safetensors.index.json")), msg);
  await Deno.rename(join(dir, "moved.safetensors"), join(dir, second));
  assertEquals((await load(dir)).config.architecture, "qwen3");

  // a Qwen3 config over Llama weights: the q/k norms are missing
  const llama = join(ROOT, "llama");
  await writeRandomModel(llama, { ...QWEN3, model_type: "llama" });
  await Deno.writeTextFile(join(llama, "config.json"), good);
  await oneLineError(() => load(llama), "missing tensor model.layers.0.self_attn.q_norm.weight");
});
