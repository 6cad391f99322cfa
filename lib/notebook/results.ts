/**
 * Result views for the notebooks, built on lib/analysis: the figures of one or a few runs
 * ({@linkcode runFigures}), a reward-per-function figure for one experiment, sample completions from a
 * run's `completions.jsonl`, and small HTML blocks for statistics, integrity findings and findings.
 * @module
 */
import { dashboardFigures, type NamedFigure } from "../analysis/dashboard.ts";
import { ema, groupCurves, type PlotSpec } from "../analysis/figures.ts";
import { formatNumber } from "../analysis/findings.ts";
import { escapeHtml, htmlTable, readableTable } from "../analysis/html.ts";
import { type Finding, judgeFallbackCaveats } from "../analysis/integrity.ts";
import { integrityHtml, integrityLines } from "../analysis/report_sections.ts";
import {
  completionsViewer,
  evalViewerItems,
  trainViewerItems,
  type ViewerItem,
} from "../analysis/completions_view.ts";
import { loadEvalRecords, loadRuns } from "../analysis/load.ts";
import type { CI, ExperimentStats } from "../analysis/stats.ts";
import { type ColumnTable, groupLabel, rewardFunctions, runLabel, runsOf } from "../analysis/table.ts";
import type { CompletionRecord } from "../grpo/logging.ts";
import { readJsonLines } from "../util/atomic.ts";
import { UserError } from "../util/errors.ts";
import { runFile } from "../util/run_folder.ts";
import { DISPLAY_SYMBOL, type Displayable } from "./display.ts";
import type { MimeBundle } from "./nbformat.ts";

/** Figures of a few runs and the ones left out (with the reason). */
export interface RunFigures {
  /** Figures with data, in reading order. */
  figures: NamedFigure[];
  /** Figures left out. */
  omitted: { id: string; title: string; reason: string }[];
}

/** Ids of the standard figures a run notebook shows, in order (`held_out` stands for every `held_out_*`). */
const RUN_FIGURES = ["reward", "reward_functions", "held_out", "length", "kl", "judge_fallback"];

/**
 * The figures a training notebook shows for its run(s): training reward, reward per reward function (one
 * figure per experiment), held-out metric, completion length, KL, and the judge fallback share when logged.
 */
export function runFigures(table: ColumnTable, options: { smoothing?: number } = {}): RunFigures {
  // Runs scored by the judge's fallback are named as such in every figure.
  const caveats = judgeFallbackCaveats(table);
  const dash = dashboardFigures(table, { smoothing: options.smoothing, caveats });
  const figures: NamedFigure[] = [];
  const omitted: RunFigures["omitted"] = [];
  const base = (
    id: string,
  ) => (id.startsWith("held_out_improvement") ? "" : id.startsWith("held_out") ? "held_out" : id);
  for (const id of RUN_FIGURES) {
    if (id === "reward_functions") {
      for (const experiment of [...new Set(runsOf(table).map((r) => r.experiment))]) {
        const spec = rewardFunctionFigure(table, { experiment, smoothing: options.smoothing });
        const caveat = [...caveats].filter(([k]) => k.endsWith(`/${experiment}`)).map(([, v]) => v);
        if (caveat.length) {
          const t = spec.layout.title as { text: string };
          t.text = `${t.text}<br><sub>⚠ ${caveat.join("<br>⚠ ")}</sub>`;
          spec.layout.margin = { l: 60, r: 20, t: 60 + 18 * caveat.length, b: 60 };
        }
        if (spec.data.length) {
          figures.push({
            id: `reward_functions_${experiment}`,
            title: `Reward per function: ${experiment}`,
            spec,
          });
        }
      }
      continue;
    }
    figures.push(...dash.figures.filter((f) => base(f.id) === id));
    if (id !== "judge_fallback") omitted.push(...dash.omitted.filter((o) => base(o.id) === id));
  }
  return { figures, omitted };
}

const FN_COLORS = ["#e45756", "#4c78a8", "#54a24b", "#b279a2", "#f58518", "#72b7b2"];

/** Total reward and each reward function's mean for one experiment (mean over its seeds, EMA-smoothed). */
export function rewardFunctionFigure(
  table: ColumnTable,
  options: { experiment: string; smoothing?: number },
): PlotSpec {
  const sub = table.params({ exp: options.experiment }).filter((
    d: { experiment: string },
    $: { exp: string },
  ) => d.experiment === $.exp);
  const fns = rewardFunctions(runsOf(sub).flatMap((r) => [...r.metrics.keys()]));
  const w = options.smoothing ?? 0.8;
  const data: Record<string, unknown>[] = [];
  ["reward", ...fns.map((f) => `rewards/${f}/mean`)].forEach((metric, i) => {
    for (const c of groupCurves(sub, metric, { smoothing: 0 })) {
      const color = i === 0 ? "#222222" : FN_COLORS[(i - 1) % FN_COLORS.length];
      const name = `${i === 0 ? "total reward" : fns[i - 1]}${c.source === "trl" ? " (TRL log)" : ""}`;
      const dash = c.source === "trl" ? "dash" : "solid";
      data.push(
        {
          type: "scatter",
          mode: "lines",
          x: c.steps,
          y: c.raw,
          line: { color, width: 1, dash },
          opacity: 0.3,
          hoverinfo: "skip",
          showlegend: false,
          legendgroup: name,
        },
        {
          type: "scatter",
          mode: c.steps.length <= 25 ? "lines+markers" : "lines",
          name,
          legendgroup: name,
          x: c.steps,
          y: ema(c.raw, w),
          line: { color, width: 2, dash },
        },
      );
    }
  });
  return {
    data,
    layout: {
      title: { text: `${options.experiment}: reward per reward function (EMA ${w}, faint: raw)` },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "reward" } },
      legend: { orientation: "h", y: -0.2 },
      margin: { l: 60, r: 20, t: 50, b: 60 },
      height: 400,
    },
  };
}

/** `n` completions from the first and `n` from the last step logged in `<runDir>/completions.jsonl`. */
export async function completionSamples(
  runDir: string,
  options: { n?: number } = {},
): Promise<CompletionRecord[]> {
  const n = options.n ?? 3;
  const path = runFile(runDir, "completions");
  let rows: CompletionRecord[];
  try {
    rows = (await readJsonLines<CompletionRecord>(path)).rows;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(`${path}: missing (has the run logged a step?)`);
    }
    throw new UserError(`${path}: ${(e as Error).message}`);
  }
  rows.forEach((r, i) => {
    if (typeof r?.step !== "number" || typeof r.completion !== "string") {
      throw new UserError(`${path}: record ${i + 1} has no numeric "step" or string "completion"`);
    }
  });
  if (!rows.length) return [];
  const first = rows[0].step, last = rows[rows.length - 1].step;
  const pick = (s: number) => rows.filter((r) => r.step === s).slice(0, n);
  return first === last ? pick(first) : [...pick(first), ...pick(last)];
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** An HTML table of completion records: step, prompt (its last 160 characters), completion, rewards, advantage. */
export function completionsTable(
  records: readonly CompletionRecord[],
  options: { maxChars?: number } = {},
): string {
  if (!records.length) return "<p>No completions logged.</p>";
  const max = options.maxChars ?? 400;
  const pre = (t: string) => ({ html: `<pre style="white-space:pre-wrap;margin:0">${escapeHtml(t)}</pre>` });
  const names = [...new Set(records.flatMap((r) => Object.keys(r.rewards ?? {})))];
  return htmlTable(
    ["step", "prompt (end)", "completion", ...names, "reward", "advantage"],
    records.map((r) => [
      r.step,
      pre(r.prompt.length > 160 ? `…${r.prompt.slice(-159)}` : r.prompt),
      pre(clip(r.completion, max)),
      ...names.map((k) => ({ html: formatNumber(r.rewards?.[k] ?? NaN), cls: "num" })),
      { html: formatNumber(r.reward ?? NaN), cls: "num" },
      { html: formatNumber(r.advantage), cls: "num" },
    ]),
  );
}

/** {@linkcode completionsTable} with a plain-text part: one line per completion (step, reward, advantage, text). */
export function completionsView(records: readonly CompletionRecord[]): Displayable & MimeBundle {
  const plain = records.length
    ? records.map((r) =>
      `step ${r.step} · reward ${formatNumber(r.reward ?? NaN)} · advantage ${formatNumber(r.advantage)}: ${
        JSON.stringify(clip(r.completion, 160))
      }`
    ).join("\n")
    : "No completions logged.";
  return htmlView(completionsTable(records), plain);
}

function ciCell(ci: CI | undefined): { html: string; cls: string } {
  if (!ci || !Number.isFinite(ci.estimate)) return { html: "—", cls: "num" };
  const f = (x: number) => formatNumber(x);
  return {
    html: escapeHtml(
      ci.n > 1 ? `${f(ci.estimate)} [${f(ci.lo)}, ${f(ci.hi)}]` : `${f(ci.estimate)} (1 seed)`,
    ),
    cls: "num",
  };
}

/** An HTML table of experiment statistics (mean over seeds with the bootstrap 95% CI when there are ≥ 2 seeds). */
export function statsTable(
  stats: readonly ExperimentStats[],
  options: { caveats?: ReadonlyMap<string, string> } = {},
): string {
  if (!stats.length) return "<p>No statistics (no run logged a reward).</p>";
  return htmlTable(
    [
      "experiment",
      "seeds",
      "reward start",
      "reward end",
      "Δ reward",
      "slope/step",
      "held-out metric",
      "before",
      "after",
      "Δ held-out",
    ],
    stats.map((s) => [
      groupLabel(s) + caveatMark(s, options.caveats),
      s.seeds.length,
      ciCell(s.rewardStart),
      ciCell(s.rewardEnd),
      ciCell(s.rewardDelta),
      ciCell(s.slope),
      s.heldOutMetric ?? "—",
      ciCell(s.heldOutBefore),
      ciCell(s.heldOutAfter),
      ciCell(s.heldOutDelta),
    ]),
  );
}

/** An HTML view with its own `text/plain` part (what headless runs and consoles show). */
export function htmlView(htmlText: string, plain: string): Displayable & MimeBundle {
  // Tables are made readable in Jupyter (left-aligned text, no mid-word breaks); comparisonTable already is.
  const readable = htmlText.includes("<table") && !htmlText.includes('class="grpo-readable"')
    ? readableTable(htmlText)
    : htmlText;
  const bundle = { "text/html": readable, "text/plain": plain };
  return { ...bundle, [DISPLAY_SYMBOL]: () => bundle };
}

function caveatMark(s: ExperimentStats, caveats?: ReadonlyMap<string, string>): string {
  const c = caveats?.get(`${s.source}/${s.experiment}`);
  return c ? ` ⚠ ${c}` : "";
}

/** {@linkcode statsTable} with a plain-text part: one line per experiment (caveats, e.g. the judge fallback, named in both). */
export function statsView(
  stats: readonly ExperimentStats[],
  options: { caveats?: ReadonlyMap<string, string> } = {},
): Displayable & MimeBundle {
  const t = (ci: CI | undefined) => (ci && Number.isFinite(ci.estimate) ? formatNumber(ci.estimate) : "—");
  const plain = stats.length
    ? stats.map((s) =>
      `${groupLabel(s)}${caveatMark(s, options.caveats)} (${s.seeds.length} seed${
        s.seeds.length > 1 ? "s" : ""
      }): reward ${t(s.rewardStart)} → ${t(s.rewardEnd)}, slope ${t(s.slope)}/step${
        s.heldOutMetric ? `; ${s.heldOutMetric} ${t(s.heldOutBefore)} → ${t(s.heldOutAfter)}` : ""
      }`
    ).join("\n")
    : "No statistics (no run logged a reward).";
  return htmlView(statsTable(stats, options), plain);
}

/** Integrity findings by severity (errors first, coloured) with one plain line each (or a line saying there are none). */
export function integrityView(findings: readonly Finding[]): Displayable & MimeBundle {
  if (!findings.length) {
    return htmlView(`<p style="color:#2a2">No integrity problems found.</p>`, "No integrity problems found.");
  }
  return htmlView(integrityHtml(findings), integrityLines(findings).join("\n"));
}

/**
 * The completions viewer for run folders: every training completion (`completions.jsonl`, with reward
 * and gold answer) and held-out evaluation completion (`eval_completions.jsonl`, with correctness or
 * score), filterable by step, reward and correctness, and "only where the models disagree" across runs.
 */
export async function runCompletionsView(
  runDirs: readonly string[],
  options: { maxItems?: number } = {},
): Promise<Displayable & MimeBundle> {
  const loaded = await loadRuns([...runDirs], { allowEmpty: true });
  const evals = await loadEvalRecords(loaded);
  const items: ViewerItem[] = [];
  for (const r of loaded.runs) {
    if (!r.dir) continue;
    try {
      const rows = (await readJsonLines<CompletionRecord>(runFile(r.dir, "completions"))).rows;
      items.push(...trainViewerItems(runLabel(r, { withSeed: true }), rows));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new UserError(`${r.dir}/completions.jsonl: ${(e as Error).message}`);
      }
    }
  }
  items.push(...evalViewerItems(evals.runs));
  const dis = items.filter((x) => x.disagree).length;
  const plain =
    `${items.length} completions (${items.filter((x) => x.kind === "eval").length} held-out, ${dis} ` +
    `on problems where the runs disagree); open in Jupyter or the HTML export to filter them`;
  return htmlView(completionsViewer(items, { maxItems: options.maxItems }), plain);
}

/** Sentences as an HTML list under an optional heading, with one plain line each (or a line saying there are none). */
export function sentencesView(
  sentences: readonly string[],
  options: { heading?: string } = {},
): Displayable & MimeBundle {
  const h = options.heading ? `<h3>${escapeHtml(options.heading)}</h3>` : "";
  const head = options.heading ? `${options.heading}:\n` : "";
  if (!sentences.length) {
    const none = "No findings: no statistics could be computed.";
    return htmlView(`${h}<p>${none}</p>`, head + none);
  }
  return htmlView(
    `${h}<ul>${sentences.map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>`,
    head + sentences.map((s) => `- ${s}`).join("\n"),
  );
}
