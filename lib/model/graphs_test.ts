/**
 * The memory-saving paths of the training graphs (composites with their own VJP, vocabulary chunks, per-layer
 * checkpointing) give the same loss and gradients as the plain paths, and the chunked graph never forms the
 * full `[M, V]` logits.
 */
import { CausalLM } from "./causal_lm.ts";
import { writeRandomModel } from "./testing.ts";
import { initLora } from "./lora.ts";
import type { Weight } from "./graphs.ts";
import { buildLoraTrainGraph, type TrainLoss } from "./train_graph.ts";
import { LORA_TARGETS } from "./llama.ts";
import { f32, op } from "../onnx/mod.ts";
import { assert } from "../util/assert.ts";

/** A loss over the generic training graph: Σ w·(−log p + β·KL to the base model), the base pass in the graph. */
const weightedNll = (beta: number): TrainLoss => ({
  key: `test_nll|${beta}`,
  build: ({ graph: g, dtype, logp, baseLogprobs }) => {
    const w = g.input("token_weights", dtype, ["M"]);
    const d = op.sub(baseLogprobs(), logp);
    const kl = op.sub(op.sub(op.exp(d), d), 1);
    return op.reduceSum(op.mul(op.add(op.neg(logp), op.mul(kl, beta)), w), [0]);
  },
});

async function modelDir(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await writeRandomModel(dir, { model_type: "qwen2", vocab_size: 300, tie_word_embeddings: true, seed: 4 });
  return dir;
}

function relError(a: Float32Array, b: Float32Array): number {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) (d += (a[i] - b[i]) ** 2), (n += b[i] ** 2);
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-12);
}

Deno.test("gradient_checkpointing gives the same training loss and LoRA gradients", async () => {
  const dir = await modelDir();
  const results = [];
  for (const gradientCheckpointing of [false, true]) {
    const m = await CausalLM.load(dir, {
      device: "cpu",
      tokenizer: false,
      threads: 1,
      gradientCheckpointing,
    });
    const lora = initLora(m.config, { r: 2, alpha: 4, targets: [...LORA_TARGETS] }, { seed: 1 });
    for (const t of lora.tensors.values()) {
      for (let i = 0; i < t.data.length; i++) t.data[i] = 0.1 * Math.sin(i + 1);
    }
    const B = 2, T = 9;
    const ids = Array.from({ length: B * T }, (_, i) => 2 + ((i * 37) % 290));
    const mask = ids.map((_, i) => (i % T < 7 || i < T ? 1 : 0));
    const w = ids.map((_, i) => (i % T >= 3 && mask[i + 1] ? 0.1 : 0));
    results.push(
      await m.trainStep({ ids, mask, batch: B, length: T }, {
        lora,
        loss: weightedNll(0.04),
        scored: w,
        feeds: (positions) => ({ token_weights: f32(positions.map((i) => w[i]), [positions.length]) }),
      }),
    );
    await m.release();
  }
  const [plain, ckpt] = results;
  assert(
    Math.abs(plain.loss - ckpt.loss) <= 1e-5 * Math.abs(plain.loss) + 1e-7,
    `${plain.loss} vs ${ckpt.loss}`,
  );
  for (const [name, g] of plain.grads) {
    const e = relError(ckpt.grads.get(name)!.data, g.data);
    assert(e < 1e-4, `${name}: relative error ${e}`);
  }
});

Deno.test("the LoRA training graph with vocabulary chunks never forms [M, V] logits (the unchunked one does)", async () => {
  const dir = await modelDir();
  const m = await CausalLM.load(dir, { device: "cpu", tokenizer: false, threads: 1 });
  const V = m.config.vocabSize;
  const lora = { r: 2, alpha: 4, targets: [...LORA_TARGETS] };
  const widest = (vocabChunk: number) => {
    const g = buildLoraTrainGraph(m.config, m.weights as Map<string, Weight>, {
      lora,
      loss: weightedNll(0.04),
      vocabChunk,
    });
    // tensors with M (scored positions) rows: the logits and everything derived from them
    const cols = g.liveNodes().flatMap((n) => n.outputs).filter((t) => t.shape[0] === "M" && t.rank === 2)
      .map((t) => t.shape[1] as number);
    return Math.max(...cols);
  };
  assert(widest(64) === 64, `chunked: widest [M, ·] tensor has ${widest(64)} columns`);
  assert(widest(0) === V, "unchunked: the full logits exist");
});
