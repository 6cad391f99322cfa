/**
 * The study's views as sections, built once for the HTML report, the Comparison notebook and the
 * training notebooks: each {@linkcode Section} holds its HTML and a plain-text twin and displays itself
 * in Jupyter (`await show(section)`, or as a cell's last expression). The report places the same sections
 * under its headings.
 * @module
 */
import type { CompletionRecord } from "../grpo/mod.ts";
import { DISPLAY_SYMBOL, type Displayable, type MimeBundle } from "../util/mod.ts";
import { completionsViewer, type ViewerItem } from "./completions_view.ts";
import type { LoadedRuns } from "./load.ts";
import { formatNumber } from "./findings.ts";
import { escapeHtml, htmlTable, readableHtml } from "./html.ts";
import type { Finding } from "./integrity.ts";
import { type PairedComparison, pairedSentence } from "./paired.ts";
import { integrityHtml, integrityLines, pairedTable, settingsHtml } from "./report_sections.ts";
import type { RunSettings } from "./settings.ts";
import {
  compareExperimentStats,
  type Comparison,
  type ExperimentStats,
  experimentStats,
  type RunStats,
  runStats,
} from "./stats.ts";
import {
  comparisonStatsTable,
  experimentStatsLines,
  experimentStatsTable,
  runStatsTable,
  type StatsTableOptions,
} from "./stats_tables.ts";
import { type ColumnTable, experimentOrder, runLabel } from "./table.ts";

/** One block of a view: HTML (report and Jupyter) and its plain-text twin (terminal, headless runs). */
export interface Section extends Displayable {
  /** Stable id, e.g. "integrity". */
  id: string;
  /** Heading (the report's `<h2>`; notebooks have their own markdown headings). */
  title: string;
  /** The HTML, as the report embeds it. */
  html: string;
  /** The same content as plain text. */
  plain: string;
}

/** Builds a {@linkcode Section}; in Jupyter its tables are made readable ({@linkcode readableHtml}). */
export function section(parts: { id: string; title: string; html: string; plain: string }): Section {
  const bundle = (): MimeBundle => ({ "text/html": readableHtml(parts.html), "text/plain": parts.plain });
  return { ...parts, [DISPLAY_SYMBOL]: bundle };
}

/** Integrity findings by severity, then the caveat of each group scored by the judge's fallback. */
export function integritySection(
  findings: readonly Finding[],
  options: { runs?: number; caveats?: ReadonlyMap<string, string> } = {},
): Section {
  const caveats = [...(options.caveats ?? [])];
  const lines = findings.length ? integrityLines(findings) : ["No integrity problems found."];
  return section({
    id: "integrity",
    title: "Integrity checks",
    html: integrityHtml(findings, { runs: options.runs }) +
      (caveats.length
        ? `<ul class="warn">${
          caveats.map(([k, v]) => `<li><b>${escapeHtml(k)}</b>: ⚠ ${escapeHtml(v)}</li>`).join("")
        }</ul>`
        : ""),
    plain: [...lines, ...caveats.map(([k, v]) => `${k}: ⚠ ${v}`)].join("\n"),
  });
}

/** The settings table of the compared runs and the config diff. */
export function settingsSection(settings: readonly RunSettings[]): Section {
  return section({
    id: "settings",
    title: "Settings of the compared runs",
    html: settingsHtml(settings),
    plain: `settings of ${settings.length} run${settings.length === 1 ? "" : "s"}`,
  });
}

/** What was loaded: one row per run (file, steps, metrics, torn lines, skipped values), then the warnings. */
export function loadedSection(loaded: Pick<LoadedRuns, "runs" | "warnings">): Section {
  const table = htmlTable(
    ["run", "file", "steps", "metrics", "torn lines", "non-numeric values skipped"],
    [...loaded.runs].sort((a, b) =>
      experimentOrder(a.experiment, b.experiment) ||
      (a.source === b.source ? 0 : a.source === "ours" ? -1 : 1) ||
      a.seed - b.seed
    ).map((r) => [
      runLabel(r, { withSeed: r.source === "ours" }),
      r.path,
      r.steps,
      r.metrics,
      r.tornLines,
      Object.values(r.skipped).reduce((a, b) => a + b, 0),
    ]),
  );
  const warnings = loaded.warnings.length
    ? `<ul class="warn">${loaded.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`
    : "";
  return section({
    id: "loaded",
    title: "Data loaded",
    html: table + warnings,
    plain: [
      ...loaded.runs.map((r) =>
        `${
          runLabel(r, { withSeed: r.source === "ours" })
        }: ${r.steps} steps, ${r.metrics} metrics from ${r.path}`
      ),
      ...loaded.warnings.map((w) => `warning: ${w}`),
    ].join("\n") || "no runs loaded",
  });
}

/** The statistics of a set of runs: per run, per experiment across seeds, and held-out comparisons. */
export interface StudyStatistics {
  /** Per run. */
  runs: RunStats[];
  /** Per experiment (mean over seeds, 95 % t interval). */
  experiments: ExperimentStats[];
  /** Held-out improvements compared between experiments (training rewards of different functions have different scales). */
  comparisons: Comparison[];
}

/** {@linkcode StudyStatistics} of `table`: start/end `window` (default 10), bootstrap `seed` (default 0) and `resamples`. */
export function studyStatistics(
  table: ColumnTable,
  options: { window?: number; seed?: number; resamples?: number } = {},
): StudyStatistics {
  const boot = { seed: options.seed ?? 0, resamples: options.resamples };
  const runs = runStats(table, { window: options.window });
  return {
    runs,
    experiments: experimentStats(runs, boot),
    comparisons: compareExperimentStats(runs, { ...boot, measure: "heldOutDelta" }),
  };
}

/** The three statistics tables (per experiment, comparisons, per run); plain text: one line per experiment. */
export function statisticsSection(stats: StudyStatistics, options: StatsTableOptions = {}): Section {
  return section({
    id: "statistics",
    title: "Statistics",
    html:
      `<h3>Per experiment (mean over seeds [95% t interval])</h3>${
        experimentStatsTable(stats.experiments, options)
      }\n<h3>Comparisons between experiments</h3>${comparisonStatsTable(stats.comparisons, options)}\n` +
      `<h3>Per run (start/end = mean over the first/last window of steps)</h3>${
        runStatsTable(stats.runs, options)
      }`,
    plain: experimentStatsLines(stats.experiments, options).join("\n"),
  });
}

/** Paired held-out comparisons (per problem) with their intervals; plain text: one sentence each. */
export function pairedSection(paired: readonly PairedComparison[]): Section {
  return section({
    id: "paired",
    title: "Paired held-out comparisons (per problem; one seed already gets an interval)",
    html: pairedTable(paired),
    plain: paired.map(pairedSentence).join("\n") || "no per-example held-out logs",
  });
}

/** Sentences as a list under `title` (findings, verdicts), or a line saying there are none. */
export function sentencesSection(
  sentences: readonly string[],
  options: { id: string; title: string; none?: string },
): Section {
  const none = options.none ?? "No findings: no statistics could be computed.";
  return section({
    id: options.id,
    title: options.title,
    html: sentences.length
      ? `<ul class="sentences">${sentences.map((s) => `<li>${escapeHtml(s)}</li>`).join("\n")}</ul>`
      : `<p>${escapeHtml(none)}</p>`,
    plain: `${options.title}:\n${sentences.length ? sentences.map((s) => `- ${s}`).join("\n") : none}`,
  });
}

/** The completions viewer over `items` (filterable by step, correctness and reward; "only where the models disagree"). */
export function completionsSection(
  items: readonly ViewerItem[],
  options: { maxItems?: number; title?: string } = {},
): Section {
  const held = items.filter((x) => x.kind === "eval").length;
  const dis = items.filter((x) => x.disagree).length;
  return section({
    id: "completions",
    title: options.title ?? "Held-out completions",
    html: completionsViewer(items, { maxItems: options.maxItems }),
    plain: `${items.length} completions (${held} held-out, ${dis} on problems where the runs disagree); ` +
      "open in Jupyter or the HTML export to filter them",
  });
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

/** Sample completions of each run (a table each, under the run's name); plain: one line per completion. */
export function samplesSection(
  runs: readonly { label: string; records: readonly CompletionRecord[] }[],
): Section {
  const one = runs.length === 1;
  const plainOf = (records: readonly CompletionRecord[]) =>
    records.length
      ? records.map((r) =>
        `step ${r.step} · reward ${formatNumber(r.reward ?? NaN)} · advantage ${formatNumber(r.advantage)}: ${
          JSON.stringify(clip(r.completion, 160))
        }`
      ).join("\n")
      : "No completions logged.";
  return section({
    id: "samples",
    title: "Sample completions",
    html: runs.map((r) => `${one ? "" : `<h4>${escapeHtml(r.label)}</h4>`}${completionsTable(r.records)}`)
      .join("\n"),
    plain: runs.map((r) => `${one ? "" : `${r.label}:\n`}${plainOf(r.records)}`).join("\n"),
  });
}
