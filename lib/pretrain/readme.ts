/**
 * The `data/tiny/README.md` that `deno task pretrain` writes: how the model was made (both stages, their
 * options, whether stage 1 was rerun or continued from earlier weights) and its measured starting numbers,
 * each with its 95 % Wilson interval.
 * @module
 */
import type { PretrainOptions } from "./train.ts";
import type { TinySizes } from "./tiny.ts";

/** What one pretraining stage did. */
export interface StageSummary {
  /** Its options (evaluation problems left out). */
  options: Omit<PretrainOptions, "evalProblems">;
  /** Steps actually taken (early stop can end stage 1 sooner). */
  steps: number;
  /** Minutes it took (null when not run here). */
  minutes: number | null;
}

/** Inputs of {@linkcode tinyReadme}. */
export interface TinyReadmeInputs {
  /** The command line that made the folder. */
  command: string;
  sizes: TinySizes;
  nParams: number;
  stage1: StageSummary;
  /**
   * Set when stage 1 was not run by this command: the folder whose weights (made by stage 1 earlier) were
   * the starting point.
   */
  stage1From?: string;
  stage2: StageSummary & { taggedShare: number };
  /**
   * The final evaluation on the held-out problems: problems, samples per problem for mean@k, and the report
   * lines (lib/eval's `formatMathReport`, given by the caller so that this layer does not import lib/eval).
   */
  evaluation: { n: number; k: number; report: string[] };
  /** Total minutes of this command. */
  minutes: number;
}

const fmtMin = (m: number | null) => (m === null ? "" : `, ${m.toFixed(1)} minutes`);

/** The README text. */
export function tinyReadme(a: TinyReadmeInputs): string {
  const o1 = a.stage1.options, o2 = a.stage2.options;
  const pct = Math.round(100 * a.stage2.taggedShare);
  const stage1 = `**Stage 1** (format-perfect answers; ${a.stage1.steps} steps${
    fmtMin(a.stage1.minutes)
  }): every
   problem answered as \`<reasoning>\\n…steps…\\n</reasoning>\\n<answer>N</answer>\`, plus short instruction →
   response dialogues. AdamW lr ${o1.lr}, warmup ${o1.warmup}, cosine to ${o1.minLrRatio}×, weight decay
   ${o1.weightDecay}, batch ${o1.batchSize}, at most ${o1.steps} steps with an early stop once lenient held-out
   accuracy reached ${o1.stopAtAccuracy ?? "—"} on 100 problems.`;
  const from = a.stage1From
    ? `

Stage 1 was **not rerun** by the command that wrote this folder: it started from the weights previously in
\`${a.stage1From}\`, which stage 1 had produced (\`deno task pretrain\` with stage 1's defaults; their log is
\`pretrain_log.json\`'s \`stage1\`). \`deno task pretrain\` with no flags runs both stages from nothing.`
    : "";
  return `# The embedded tiny model

A Llama-architecture causal LM in the Hugging Face layout (\`config.json\`, \`model.safetensors\`,
\`tokenizer.json\`, \`tokenizer_config.json\` with a chat template, \`generation_config.json\`), made entirely by this
project so that experiments, notebooks and CI run offline.

## How it was made
\`${a.command}\` (${a.minutes.toFixed(1)} minutes on this machine's CPU with 2 threads):
1. Generated a corpus (seed ${o1.seed}): GSM8K-style word problems with 1–3 arithmetic steps and short
   instruction → response dialogues (\`lib/data/generated.ts\`, \`lib/pretrain/corpus.ts\`); the 200 held-out
   problems below never occur in it.
2. Trained a BPE tokenizer on it (${a.sizes.vocabSize} tokens; digits are single tokens; \`lib/model/bpe.ts\`).
3. Trained every weight with the project's own ONNX engine (\`lib/pretrain/train.ts\`), next-token loss on the
   assistant completions, in two stages:
   - ${stage1}
   - **Stage 2** (mixed answer styles; ${a.stage2.steps} steps${
    fmtMin(a.stage2.minutes)
  }): the same problems, each
     answered with the same step lines but ended in one style drawn at random (seed ${
    o1.seed + 2
  }): ${pct} % in the
     requested \`<reasoning>…</reasoning>\\n<answer>N</answer>\` format, the rest split evenly over "The answer
     is N.", GSM8K's \`#### N\` and a bare number. AdamW lr ${o2.lr}, warmup ${o2.warmup}, cosine to
     ${o2.minLrRatio}×, batch ${o2.batchSize}, no early stop.${from}

Stage 2 is what makes it behave like a small instruct model: it follows the requested answer format only part
of the time and its samples disagree in style, without costing arithmetic: the lenient accuracy, which accepts
any of the styles, is the measure of that (compare it with stage 1's in the notes below or in the log).

Architecture: ${a.sizes.numLayers} layers, hidden ${a.sizes.hiddenSize}, MLP ${a.sizes.intermediateSize}, ${a.sizes.numHeads} heads
(${a.sizes.numKvHeads} key/value heads), tied embeddings, ${(a.nParams / 1e6).toFixed(2)} M parameters.

## Measured starting numbers
On ${a.evaluation.n} held-out generated problems (never in the corpus), greedy unless stated, 95 % Wilson intervals:

\`\`\`
${a.evaluation.report.slice(1).join("\n")}
\`\`\`

Strict accuracy reads the answer only from the \`<answer>…</answer>\` slot (the \`math_hard\` reward's rule);
lenient accepts any of the styles (\`math_hard_lenient\`); format rate is the share of greedy answers with
\`<reasoning>…</reasoning>\` then \`<answer>…</answer>\`; mean@${a.evaluation.k} is the mean strict accuracy of
${a.evaluation.k} samples per problem at temperature 1. Reproduce with \`deno task eval-math --model data/tiny\`.

It is meant to have room to learn: its arithmetic is right about as often as the lenient number says, but it
writes the answer where the strict reward reads it only some of the time.
`;
}
