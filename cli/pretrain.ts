/**
 * `deno task pretrain [--out data/tiny] [--steps 3000] [--batch 24] [--lr 2e-3] [--seed 0] [--vocab 1024]
 *  [--eval-every 250] [--stop-at 0.45] [--init DIR]`  (`--init` continues training an existing tiny model)
 * Builds the embedded tiny model from nothing: generates the corpus, trains a BPE tokenizer, initializes a
 * Llama-architecture model and trains it with the project's own engine, then measures greedy accuracy on 200
 * held-out generated problems and writes the Hugging Face folder (config, safetensors, tokenizer, README).
 * @module
 */
import { join } from "node:path";
import { buildCorpus, corpusTexts, heldOutProblems, tokenizePair } from "../lib/pretrain/corpus.ts";
import { initTinyWeights, TINY_SIZES, tinyConfigJson, type TinySizes } from "../lib/pretrain/tiny.ts";
import type { Weight } from "../lib/model/graphs.ts";
import { pretrain, type PretrainOptions } from "../lib/pretrain/train.ts";
import { trainBpe, writeTokenizerFiles } from "../lib/model/bpe.ts";
import { loadTokenizer } from "../lib/model/tokenizer.ts";
import { loadModelConfig } from "../lib/model/config.ts";
import { CausalLM } from "../lib/model/causal_lm.ts";
import { writeSafetensors } from "../lib/model/safetensors.ts";
import { evaluateMath, formatAccuracy } from "../lib/eval/math.ts";
import { numberFlag, parseFlags } from "../lib/util/cli.ts";
import { runMain } from "../lib/util/errors.ts";
import { writeFileAtomic, writeJsonAtomic } from "../lib/util/atomic.ts";
import { formatDuration } from "../lib/util/progress.ts";

const num = numberFlag;

await runMain(async () => {
  const { values } = parseFlags(Deno.args, {
    out: { type: "string", default: "data/tiny" },
    steps: { type: "string", default: "3000" },
    batch: { type: "string", default: "24" },
    lr: { type: "string", default: "0.002" },
    seed: { type: "string", default: "0" },
    vocab: { type: "string", default: "1024" },
    "eval-every": { type: "string", default: "250" },
    "stop-at": { type: "string", default: "0.45" },
    threads: { type: "string", default: "2" },
    init: { type: "string" },
  });
  const t0 = performance.now();
  const seed = num(values.seed, "seed");
  const out = values.out!;
  const stage = `${out}.staging`;
  await Deno.remove(stage, { recursive: true }).catch(() => {});
  await Deno.mkdir(stage, { recursive: true });

  const finalEval = heldOutProblems(200, seed);
  const corpus = buildCorpus({ seed }, finalEval);
  console.error(
    `[pretrain] corpus: ${corpus.length} examples (${corpus.filter((c) => c.kind === "math").length} math)`,
  );
  let weights: Map<string, Weight>;
  let sizes: TinySizes;
  if (values.init) {
    // continue from an existing tiny model: same tokenizer and architecture, its weights as the start
    for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]) {
      await Deno.copyFile(join(values.init, f), join(stage, f));
    }
    const start = await CausalLM.load(values.init, { device: "cpu" });
    weights = start.weights;
    const c = start.config;
    sizes = {
      ...TINY_SIZES,
      vocabSize: c.vocabSize,
      hiddenSize: c.hiddenSize,
      intermediateSize: c.intermediateSize,
      numLayers: c.numLayers,
      numHeads: c.numHeads,
      numKvHeads: c.numKvHeads,
    };
    console.error(`[pretrain] continuing from ${values.init}`);
  } else {
    const tokJson = trainBpe(corpusTexts(corpus), {
      vocabSize: num(values.vocab, "vocab"),
      maxTexts: 20000,
      seed,
    });
    await writeTokenizerFiles(stage, tokJson);
    const vocabSize = Object.keys(tokJson.model.vocab).length;
    const probe = await loadTokenizer(stage);
    const end = probe.encode("<|end|>"), eot = probe.encode("<|endoftext|>");
    if (end.length !== 1 || eot.length !== 1) throw new Error("special tokens must be single ids");
    await writeJsonAtomic(join(stage, "generation_config.json"), {
      eos_token_id: [end[0], eot[0]],
      pad_token_id: eot[0],
    });
    sizes = { ...TINY_SIZES, vocabSize };
    await writeJsonAtomic(
      join(stage, "config.json"),
      tinyConfigJson(sizes, { eos: [end[0], eot[0]], pad: eot[0] }),
    );
    weights = initTinyWeights(sizes, seed);
  }
  const tok = await loadTokenizer(stage);
  const config = await loadModelConfig(stage);
  const threads = num(values.threads, "threads");
  const model = new CausalLM(stage, config, weights, tok, { device: "cpu", threads });
  const data = corpus.map((p) => tokenizePair(tok, p));
  const lens = data.map((d) => d.ids.length);
  console.error(
    `[pretrain] vocab ${sizes.vocabSize}; tokens per example: mean ${
      (lens.reduce((a, b) => a + b) / lens.length).toFixed(1)
    }, max ${Math.max(...lens)}`,
  );
  const nParams = [...weights.values()].reduce((a, w) => a + w.data.length, 0);
  console.error(`[pretrain] ${(nParams / 1e6).toFixed(2)} M parameters`);
  const opts: PretrainOptions = {
    steps: num(values.steps, "steps"),
    batchSize: num(values.batch, "batch"),
    lr: num(values.lr, "lr"),
    warmup: 50,
    minLrRatio: 0.1,
    weightDecay: 0.01,
    maxGradNorm: 1,
    seed,
    evalEvery: num(values["eval-every"], "eval-every"),
    evalProblems: heldOutProblems(100, seed + 7),
    evaluate: (m, problems) => evaluateMath(m, problems, { maxNewTokens: 96 }),
    stopAtAccuracy: num(values["stop-at"], "stop-at") || undefined,
  };
  const log = await pretrain(model, data, opts);
  await model.release();
  const r = await evaluateMath(model, finalEval, { maxNewTokens: 128, progress: true });
  const minutes = (performance.now() - t0) / 60000;
  await writeSafetensors(join(stage, "model.safetensors"), weights, { metadata: { format: "pt" } });
  await writeJsonAtomic(join(stage, "pretrain_log.json"), {
    options: { ...opts, evalProblems: undefined, evaluate: undefined },
    log,
  });
  await writeFileAtomic(
    join(stage, "README.md"),
    readme({ sizes, nParams, opts, steps: log.length, r, minutes, init: values.init }),
  );
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.rename(stage, out);
  console.error(`[pretrain] wrote ${out} in ${formatDuration(minutes * 60)}`);
  console.log(formatAccuracy(r));
});

function readme(a: {
  sizes: typeof TINY_SIZES & { vocabSize: number };
  nParams: number;
  opts: PretrainOptions;
  steps: number;
  r: { accuracy: number; correct: number; n: number };
  minutes: number;
  init?: string;
}): string {
  const cont = a.init
    ? `\n\nThis stage continued training the model previously in \`${a.init}\` (\`deno task pretrain --init ${a.init}\`);\n\`pretrain_log.json\` holds this stage's log.`
    : "";
  return `# The embedded tiny model

A Llama-architecture causal LM in the Hugging Face layout (\`config.json\`, \`model.safetensors\`,
\`tokenizer.json\`, \`tokenizer_config.json\` with a chat template, \`generation_config.json\`), made entirely by this
project so that experiments, notebooks and CI run offline.

## How it was made
\`deno task pretrain${Deno.args.length ? " " + Deno.args.join(" ") : ""}\` (${
    a.minutes.toFixed(1)
  } minutes on this machine's CPU with 2 threads):
1. Generated a corpus (seed ${a.opts.seed}): GSM8K-style word problems with 1–3 arithmetic steps answered as
   \`<reasoning>…</reasoning>\\n<answer>N</answer>\`, and short instruction → response dialogues (\`lib/data/generated.ts\`).
2. Trained a BPE tokenizer on it (${a.sizes.vocabSize} tokens; digits are single tokens; \`lib/model/bpe.ts\`).
3. Trained every weight with the project's own ONNX engine (\`lib/pretrain/train.ts\`): next-token loss on the
   assistant completions, AdamW (lr ${a.opts.lr}, warmup ${a.opts.warmup}, cosine to ${a.opts.minLrRatio}×, weight decay
   ${a.opts.weightDecay}), batch ${a.opts.batchSize}, ${a.steps} steps (early stop once held-out accuracy reached
   ${a.opts.stopAtAccuracy ?? "—"} on 100 problems).${cont}

Architecture: ${a.sizes.numLayers} layers, hidden ${a.sizes.hiddenSize}, MLP ${a.sizes.intermediateSize}, ${a.sizes.numHeads} heads
(${a.sizes.numKvHeads} key/value heads), tied embeddings, ${(a.nParams / 1e6).toFixed(2)} M parameters.

## Measured accuracy
Greedy accuracy on 200 held-out generated problems (never in the corpus):
**${(100 * a.r.accuracy).toFixed(1)}%** (${a.r.correct}/${a.r.n}). Reproduce with
\`deno task eval-math --model data/tiny\`.

It is meant to be weak: good enough that GRPO gets reward signal, with room to improve.
`;
}
