/**
 * `deno task pretrain [--out data/tiny] [--steps 3000] [--batch 24] [--lr 2e-3] [--seed 0] [--vocab 1024]
 *  [--eval-every 250] [--stop-at 0.45] [--stage2-steps 500] [--stage2-lr 0.001] [--tagged-share 0.4]
 *  [--init DIR]`
 * Builds the embedded tiny model from nothing: generates the corpus, trains a BPE tokenizer, initializes a
 * Llama-architecture model and trains it with the project's own engine in two stages: stage 1 (`--steps`) on
 * answers all in the requested `<reasoning>…<answer>N</answer>` format, stage 2 (`--stage2-steps`) on the same
 * problems with answers in mixed styles (`--tagged-share` of them in the requested format). Then measures
 * strict and lenient greedy accuracy, format rate and mean@4 on 200 held-out generated problems and writes the
 * Hugging Face folder (config, safetensors, tokenizer, README with the numbers, pretrain_log.json).
 * `--init DIR` starts from DIR's tokenizer and weights; `--init DIR --steps 0` runs stage 2 only, on weights
 * that stage 1 made earlier (its log is carried over from DIR's pretrain_log.json).
 * @module
 */
import { join } from "node:path";
import {
  buildCorpus,
  corpusTexts,
  heldOutProblems,
  initTinyWeights,
  pretrain,
  type PretrainOptions,
  TINY_SIZES,
  tinyConfigJson,
  tinyReadme,
  type TinySizes,
  tokenizePair,
} from "../lib/pretrain/mod.ts";
import {
  CausalLM,
  loadModelConfig,
  loadTokenizer,
  trainBpe,
  type Weight,
  writeSafetensors,
  writeTokenizerFiles,
} from "../lib/model/mod.ts";
import { evaluateMath, formatAccuracy, formatMathReport } from "../lib/eval/mod.ts";
import {
  formatDuration,
  numberFlag,
  parseFlags,
  runMain,
  UserError,
  writeFileAtomic,
  writeJsonAtomic,
} from "../lib/util/mod.ts";

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
    "stage2-steps": { type: "string", default: "500" },
    "stage2-lr": { type: "string", default: "0.001" },
    "tagged-share": { type: "string", default: "0.4" },
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
  const model = new CausalLM({ dir: stage, config, weights, tokenizer: tok }, { device: "cpu", threads });
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
  const t1 = performance.now();
  const log = opts.steps > 0 ? await pretrain(model, data, opts) : [];
  const stage1Minutes = (performance.now() - t1) / 60000;
  await model.release();
  // stage 2: the same problems with answers in mixed styles, so the model follows the format only sometimes
  const share = num(values["tagged-share"], "tagged-share");
  if (!(share >= 0 && share <= 1)) throw new UserError(`--tagged-share must be in [0, 1], got ${share}`);
  const corpus2 = buildCorpus({ seed, taggedShare: share }, finalEval);
  const data2 = corpus2.map((p) => tokenizePair(tok, p));
  const opts2: PretrainOptions = {
    ...opts,
    steps: num(values["stage2-steps"], "stage2-steps"),
    lr: num(values["stage2-lr"], "stage2-lr"),
    warmup: 20,
    seed: seed + 1,
    evalEvery: Math.min(opts.evalEvery, 100),
    stopAtAccuracy: undefined,
  };
  console.error(`[pretrain] stage 2: ${opts2.steps} steps, ${100 * share}% tagged answers`);
  const t2 = performance.now();
  const log2 = opts2.steps > 0 ? await pretrain(model, data2, opts2) : [];
  const stage2Minutes = (performance.now() - t2) / 60000;
  await model.release();
  const r = await evaluateMath(model, finalEval, { maxNewTokens: 128, progress: true, samples: 4, seed });
  const minutes = (performance.now() - t0) / 60000;
  await writeSafetensors(join(stage, "model.safetensors"), weights, { metadata: { format: "pt" } });
  // stage 1 not run here: carry the log of the stage 1 that made the starting weights
  const earlier = values.init && opts.steps === 0 ? await stage1Log(values.init) : null;
  const stage1 = earlier ??
    { options: { ...opts, evalProblems: undefined, evaluate: undefined }, log, minutes: stage1Minutes };
  await writeJsonAtomic(join(stage, "pretrain_log.json"), {
    stage1: earlier ? { ...earlier, from: values.init } : stage1,
    stage2: {
      options: { ...opts2, evalProblems: undefined, evaluate: undefined, taggedShare: share },
      log: log2,
      minutes: stage2Minutes,
    },
  });
  await writeFileAtomic(
    join(stage, "README.md"),
    tinyReadme({
      command: `deno task pretrain${Deno.args.length ? " " + Deno.args.join(" ") : ""}`,
      sizes,
      nParams,
      stage1: { options: stage1.options, steps: stage1.log.length, minutes: stage1.minutes },
      stage1From: earlier ? values.init : undefined,
      stage2: { options: opts2, steps: log2.length, minutes: stage2Minutes, taggedShare: share },
      evaluation: { n: r.n, k: r.k, report: formatMathReport(r) },
      minutes,
    }),
  );
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.rename(stage, out);
  console.error(`[pretrain] wrote ${out} in ${formatDuration(minutes * 60)}`);
  for (const line of formatMathReport(r)) console.error(line);
  console.log(formatAccuracy(r));
});

/** Stage 1's options and log from a tiny model folder's `pretrain_log.json` (either layout), else a UserError. */
async function stage1Log(
  dir: string,
): Promise<{ options: PretrainOptions; log: unknown[]; minutes: number | null }> {
  const path = join(dir, "pretrain_log.json");
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new UserError(
      `${path}: cannot read stage 1's log (${(e as Error).message}); run stage 1 (--steps > 0)`,
    );
  }
  const s = (j.stage1 ?? j) as { options?: PretrainOptions; log?: unknown[]; minutes?: number };
  if (!s.options || !Array.isArray(s.log)) throw new UserError(`${path}: no stage 1 options and log in it`);
  return { options: s.options, log: s.log, minutes: s.minutes ?? null };
}
