/** The scale table's rows: real context lengths in the configs, and a failing row reported in one line. */
import { join } from "node:path";
import { ensureScaleModel, runScaleRow, SCALE_SHAPES, type ScaleShape } from "./scale.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";

const TINY: Omit<ScaleShape, "real"> = {
  name: "tiny",
  config: {
    vocab_size: 64,
    hidden_size: 64, // head_dim 16: the contrib-op decode graph, which checks the context length
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    tie_word_embeddings: true,
  },
  checkpointing: false,
};

Deno.test("scale: every shape's config carries its real max_position_embeddings", async () => {
  const want: Record<string, number> = {
    "SmolLM2-135M": 8192,
    "SmolLM2-360M": 8192,
    "Qwen2.5-0.5B": 32768,
    "Qwen3-0.6B": 40960,
    "Llama-3.2-1B": 131072,
  };
  assertEquals(Object.fromEntries(SCALE_SHAPES.map((s) => [s.name, s.real.max_position_embeddings])), want);
  const dir = await Deno.makeTempDir();
  try {
    // a model written earlier with a short context gets the real one on the next run
    const shape: ScaleShape = { ...TINY, real: { max_position_embeddings: 8192, rope_theta: 100000 } };
    const modelDir = await ensureScaleModel(shape, dir);
    const cfg = JSON.parse(await Deno.readTextFile(join(modelDir, "config.json")));
    assertEquals([cfg.max_position_embeddings, cfg.rope_theta], [8192, 100000]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scale: a row runs end to end, and a failing row returns its cause in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ok = await runScaleRow({ ...TINY, real: { max_position_embeddings: 8192, rope_theta: 10000 } }, {
      dir,
      threads: 1,
      steps: 1,
    });
    assert(!("error" in ok), `row failed: ${"error" in ok ? ok.error : ""}`);
    assert(ok.peak_rss_bytes > 0 && ok.decode_tokens_per_s > 0 && ok.params > 0, JSON.stringify(ok));
    // 128 prompt + 256 new tokens do not fit a 256-token context
    const bad = await runScaleRow({
      ...TINY,
      name: "short",
      real: { max_position_embeddings: 256, rope_theta: 1 },
    }, {
      dir,
      threads: 1,
      steps: 1,
    });
    assert("error" in bad, "the row should fail");
    assert(bad.error.includes("max_position_embeddings"), bad.error);
    assert(!bad.error.includes("\n"), bad.error);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
