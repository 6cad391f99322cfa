/**
 * Comparing trained adapters with the base model (the Testing notebook; lib/study finds the adapters and
 * the fresh test sets): answer a fixed set of fresh math problems and dialogue prompts with each
 * model (greedy), score them (math accuracy; dialogue judge score, or perplexity under the frozen base
 * model), flag degenerate outputs, and render a side-by-side HTML table.
 * @module
 */
import type { CausalLM } from "../model/causal_lm.ts";
import { loadLora, type LoraAdapter } from "../model/lora.ts";
import type { DialogueExample, MathExample } from "../data/types.ts";
import type { Judge } from "../rewards/judge.ts";
import { policyPerplexityScorer } from "../rewards/scorers.ts";
import { escapeHtml, htmlTable, readableTable } from "../analysis/html.ts";

export { READABLE_CELL, readableTable } from "../analysis/html.ts";
import { UserError } from "../util/errors.ts";
import { mean, median } from "../util/stats.ts";
import { evaluateMath } from "./math.ts";
import { evaluateDialogue } from "./dialogue.ts";

/** Signs of a degenerate output. */
export type DegenerateFlag = "empty" | "repetition" | "no_answer_tag";

/** Every flag, in table order. */
export const DEGENERATE_FLAGS: readonly DegenerateFlag[] = ["empty", "repetition", "no_answer_tag"];

/**
 * Flags a degenerate output: `empty` (only whitespace), `repetition` (a word 3-gram occurring 3 or more
 * times, a character repeated 12 times in a row, or a 2–10 character unit repeated 6 times in a row),
 * and with `answerTag` `no_answer_tag` (no closed `<answer>…</answer>`).
 */
export function degenerate(text: string, options: { answerTag?: boolean } = {}): DegenerateFlag[] {
  if (!text.trim()) return ["empty"];
  const flags: DegenerateFlag[] = [];
  const words = text.toLowerCase().match(/\S+/g) ?? [];
  const counts = new Map<string, number>();
  let repeated = /(.)\1{11,}/s.test(text) || /(.{2,10}?)\1{5,}/s.test(text);
  for (let i = 0; !repeated && i + 3 <= words.length; i++) {
    const k = words.slice(i, i + 3).join(" ");
    const c = (counts.get(k) ?? 0) + 1;
    counts.set(k, c);
    if (c >= 3) repeated = true;
  }
  if (repeated) flags.push("repetition");
  if (options.answerTag && !/<answer>[\s\S]*?<\/answer>/.test(text)) flags.push("no_answer_tag");
  return flags;
}

/** One model's answer to a math problem. */
export interface MathAnswer {
  question: string;
  gold: string;
  completion: string;
  predicted: string | null;
  correct: boolean;
  /** Completion length in tokens. */
  tokens: number;
  flags: DegenerateFlag[];
}

/** One model's response to a dialogue prompt. */
export interface DialogueAnswer {
  prompt: string;
  reference: string;
  response: string;
  /** Judge score 0–10, or perplexity under the base model (Infinity when it cannot be computed). */
  score: number;
  /** `judge` / `cache` / `fallback` (judge scores) or `perplexity`. */
  source: string;
  /** Response length in tokens. */
  tokens: number;
  flags: DegenerateFlag[];
}

/** Counts of each flag. */
export type FlagCounts = Record<DegenerateFlag, number>;

/** How one model (the base model or base + adapter) did. */
export interface ModelRow {
  /** "base model" or the adapter's run name. */
  name: string;
  /** The adapter folder (null for the base model). */
  adapter: string | null;
  /** The run's experiment id, when known. */
  experiment: string | null;
  /** Why the adapter could not be evaluated (then `math` and `dialogue` are null). */
  error?: string;
  /** Math results. */
  math: {
    accuracy: number;
    correct: number;
    n: number;
    meanTokens: number;
    flagged: FlagCounts;
    answers: MathAnswer[];
  } | null;
  /** Dialogue results: mean judge score (higher is better) or median perplexity (lower is better). */
  dialogue: {
    metric: "judge" | "perplexity";
    score: number;
    n: number;
    meanTokens: number;
    flagged: FlagCounts;
    /** Where scores came from (judge/cache/fallback), or perplexity/nonFinite counts. */
    sources: Record<string, number>;
    answers: DialogueAnswer[];
  } | null;
}

/** Options of {@linkcode compareModels}. */
export interface CompareOptions {
  /** Math problems (answered with the math system prompt). */
  problems: readonly MathExample[];
  /** Dialogue prompts with reference responses. */
  prompts: readonly DialogueExample[];
  /** Judge for dialogue (absent: perplexity of each response under the frozen base model). */
  judge?: Judge;
  /** Longest answer in tokens (default 96). */
  maxNewTokens?: number;
  /** Rows per generate call (default 50). */
  batchSize?: number;
  /** Include the base model first (default true). */
  base?: boolean;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
}

const zeroFlags = (): FlagCounts => ({ empty: 0, repetition: 0, no_answer_tag: 0 });
/** Mean token count; 0 when nothing was answered. */
const meanOr0 = (xs: number[]) => (xs.length ? mean(xs) : 0);

/** Greedy answers of the base model and of base + each adapter, scored; see {@linkcode ModelRow}. */
export async function compareModels(
  model: CausalLM,
  adapters: readonly { name: string; dir: string; experiment?: string | null }[],
  options: CompareOptions,
): Promise<ModelRow[]> {
  const log = options.log ?? ((l: string) => console.error(l));
  const maxNewTokens = options.maxNewTokens ?? 96, batchSize = options.batchSize ?? 50;
  const count = (t: string) => model.tok.encode(t).length;
  // Without a judge, responses are collected with a no-op judge and scored by the frozen base model.
  const collect: Judge = {
    score: (items) => Promise.resolve(items.map(() => ({ score: 0, source: "judge" as const }))),
  };
  const ppl = options.judge ? null : policyPerplexityScorer(model, { lora: () => null, name: "base model" });
  const models: { name: string; dir: string | null; experiment: string | null }[] = [
    ...(options.base ?? true ? [{ name: "base model", dir: null, experiment: null }] : []),
    ...adapters.map((a) => ({ name: a.name, dir: a.dir, experiment: a.experiment ?? null })),
  ];
  const rows: ModelRow[] = [];
  for (const [i, m] of models.entries()) {
    const row: ModelRow = {
      name: m.name,
      adapter: m.dir,
      experiment: m.experiment,
      math: null,
      dialogue: null,
    };
    rows.push(row);
    let lora: LoraAdapter | null = null;
    if (m.dir) {
      try {
        lora = await loadLora(m.dir, model.config);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        row.error = e.message;
        log(`[compare] ${m.name}: skipped (${e.message})`);
        continue;
      }
    }
    const t0 = performance.now();
    const mr = await evaluateMath(model, options.problems, { lora, maxNewTokens, batchSize });
    const mathAnswers = mr.samples.map((s) => ({
      ...s,
      tokens: count(s.completion),
      flags: degenerate(s.completion, { answerTag: true }),
    }));
    row.math = {
      accuracy: mr.accuracy,
      correct: mr.correct,
      n: mr.n,
      meanTokens: meanOr0(mathAnswers.map((a) => a.tokens)),
      flagged: tally(mathAnswers),
      answers: mathAnswers,
    };
    const dr = await evaluateDialogue(model, options.prompts, {
      judge: options.judge ?? collect,
      lora,
      maxNewTokens,
      batchSize,
    });
    let scores = dr.samples.map((s) => s.score);
    let sources: Record<string, number> = { ...dr.sources };
    if (ppl) {
      scores = dr.samples.length
        ? await ppl.perplexities(dr.samples.map((s) => s.prompt), dr.samples.map((s) => s.response))
        : [];
      const bad = scores.filter((s) => !Number.isFinite(s)).length;
      sources = { perplexity: scores.length - bad, nonFinite: bad };
    }
    const dialogueAnswers = dr.samples.map((s, k) => ({
      prompt: s.prompt,
      reference: s.reference,
      response: s.response,
      score: scores[k],
      source: ppl ? "perplexity" : s.source,
      tokens: count(s.response),
      flags: degenerate(s.response),
    }));
    row.dialogue = {
      metric: ppl ? "perplexity" : "judge",
      score: ppl ? median(scores.filter(Number.isFinite)) : dr.score,
      n: dr.n,
      meanTokens: meanOr0(dialogueAnswers.map((a) => a.tokens)),
      flagged: tally(dialogueAnswers),
      sources,
      answers: dialogueAnswers,
    };
    log(
      `[compare] ${
        i + 1
      }/${models.length} ${m.name}: math ${mr.correct}/${mr.n}, dialogue ${row.dialogue.metric} ${
        row.dialogue.score.toFixed(3)
      } (${((performance.now() - t0) / 1000).toFixed(1)}s)`,
    );
  }
  return rows;
}

function tally(answers: readonly { flags: DegenerateFlag[] }[]): FlagCounts {
  const c = zeroFlags();
  for (const a of answers) for (const f of a.flags) c[f]++;
  return c;
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "—");
const FLAG_LABEL: Record<DegenerateFlag, string> = {
  empty: "empty",
  repetition: "repetition",
  no_answer_tag: "no answer tag",
};

function flagBadges(flags: readonly DegenerateFlag[]): string {
  return flags.map((f) =>
    ` <span style="background:#fde3bd;border-radius:3px;padding:0 4px;font-size:0.85em">${
      FLAG_LABEL[f]
    }</span>`
  ).join("");
}

function answerCell(text: string, extra: string, max: number): { html: string } {
  const t = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return { html: `<pre style="white-space:pre-wrap;margin:0">${escapeHtml(t)}</pre>${extra}` };
}

function flaggedText(c: FlagCounts | undefined, n: number, flags: readonly DegenerateFlag[]): string {
  if (!c) return "—";
  return flags.map((f) => `${FLAG_LABEL[f]} ${c[f]}/${n}`).join(", ");
}

/**
 * The side-by-side HTML view: a summary table (accuracy, dialogue score, completion lengths and
 * degenerate-output counts per model), then the first `examples` math problems and dialogue prompts
 * (default 5) with every model's answer, correctness or score, and flags.
 */
export function comparisonTable(
  rows: readonly ModelRow[],
  options: { examples?: number; maxChars?: number } = {},
): string {
  const k = options.examples ?? 5, max = options.maxChars ?? 300;
  const ok = rows.filter((r) => r.math && r.dialogue);
  const metric = ok[0]?.dialogue?.metric;
  const scoreHead = metric === "perplexity"
    ? "dialogue: median perplexity under the base model (lower is better)"
    : "dialogue: mean judge score 0–10";
  const parts: string[] = [];
  parts.push(htmlTable(
    [
      "model",
      "experiment",
      "math accuracy",
      scoreHead,
      "score sources",
      "mean tokens (math / dialogue)",
      "degenerate math answers",
      "degenerate dialogue answers",
      "note",
    ],
    rows.map((r) => [
      r.name,
      r.experiment ?? "—",
      {
        html: r.math ? `${fmt(100 * r.math.accuracy, 1)}% (${r.math.correct}/${r.math.n})` : "—",
        cls: "num",
      },
      { html: r.dialogue ? fmt(r.dialogue.score) : "—", cls: "num" },
      r.dialogue ? Object.entries(r.dialogue.sources).map(([s, n]) => `${s} ${n}`).join(", ") : "—",
      {
        html: r.math && r.dialogue ? `${fmt(r.math.meanTokens, 1)} / ${fmt(r.dialogue.meanTokens, 1)}` : "—",
        cls: "num",
      },
      flaggedText(r.math?.flagged, r.math?.n ?? 0, DEGENERATE_FLAGS),
      flaggedText(r.dialogue?.flagged, r.dialogue?.n ?? 0, ["empty", "repetition"]),
      r.error ?? "",
    ]),
  ));
  if (ok.length) {
    const nm = Math.min(k, ok[0].math!.answers.length);
    parts.push(`<h4>Math: first ${nm} problems</h4>`);
    parts.push(htmlTable(
      ["problem", "gold", ...ok.map((r) => r.name)],
      Array.from({ length: nm }, (_, i) => [
        answerCell(ok[0].math!.answers[i].question, "", max),
        ok[0].math!.answers[i].gold,
        ...ok.map((r) => {
          const a = r.math!.answers[i];
          const mark = a.correct ? `<b style="color:#2a2">✓</b>` : `<b style="color:#c33">✗</b>`;
          return answerCell(
            a.completion,
            `${mark} predicted ${escapeHtml(String(a.predicted))}${flagBadges(a.flags)}`,
            max,
          );
        }),
      ]),
    ));
    const nd = Math.min(k, ok[0].dialogue!.answers.length);
    parts.push(`<h4>Dialogue: first ${nd} prompts</h4>`);
    parts.push(htmlTable(
      ["prompt", "reference", ...ok.map((r) => r.name)],
      Array.from({ length: nd }, (_, i) => [
        answerCell(ok[0].dialogue!.answers[i].prompt, "", max),
        answerCell(ok[0].dialogue!.answers[i].reference, "", max),
        ...ok.map((r) => {
          const a = r.dialogue!.answers[i];
          return answerCell(
            a.response,
            `${a.source === "perplexity" ? "PPL" : "score"} ${fmt(a.score)} (${a.source})${
              flagBadges(a.flags)
            }`,
            max,
          );
        }),
      ]),
    ));
  }
  return readableTable(parts.join("\n"));
}

/** One line per model: accuracy, dialogue score, mean lengths and degenerate counts (for logs and headless runs). */
export function comparisonLines(rows: readonly ModelRow[]): string[] {
  return rows.map((r) => {
    if (!r.math || !r.dialogue) return `${r.name}: not evaluated (${r.error ?? "unknown reason"})`;
    const m = r.math, d = r.dialogue;
    const flags = (c: FlagCounts) =>
      DEGENERATE_FLAGS.filter((f) => c[f]).map((f) => `${FLAG_LABEL[f]} ${c[f]}`);
    const deg = [
      ...flags(m.flagged).map((x) => `math ${x}`),
      ...flags(d.flagged).map((x) => `dialogue ${x}`),
    ];
    return `${r.name}: math ${m.correct}/${m.n} (${fmt(100 * m.accuracy, 1)}%), dialogue ${
      d.metric === "perplexity" ? "median perplexity" : "judge score"
    } ${fmt(d.score)}, mean tokens ${fmt(m.meanTokens, 1)} / ${fmt(d.meanTokens, 1)}; degenerate: ${
      deg.length ? deg.join(", ") : "none"
    }`;
  });
}
