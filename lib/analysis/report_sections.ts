/**
 * HTML sections of the report and the notebooks that state caveats: integrity findings by severity
 * (sorted, coloured), the settings table with the config diff, and the paired held-out comparisons
 * with their intervals.
 * @module
 */
import { distinguishable } from "./bootstrap.ts";
import { escapeHtml, htmlTable } from "./html.ts";
import type { Finding, Severity } from "./integrity.ts";
import { sortFindings } from "./integrity.ts";
import type { PairedComparison } from "./paired.ts";
import { configDiff, type RunSettings, settingsTable } from "./settings.ts";
import { groupLabel } from "./table.ts";

/** Colours of the severities (background, border). */
export const SEVERITY_COLORS: Readonly<Record<Severity, [string, string]>> = {
  error: ["#fdecea", "#d93025"],
  warning: ["#fff4e5", "#f0a020"],
  info: ["#eef3fb", "#7a9cc6"],
};

/** Integrity findings as coloured blocks, errors first, with a count per severity (or an all-clear line). */
export function integrityHtml(findings: readonly Finding[], opts: { runs?: number } = {}): string {
  if (!findings.length) {
    return `<div class="ok">No integrity problems found${opts.runs ? ` in ${opts.runs} runs` : ""}.</div>`;
  }
  const sorted = sortFindings(findings);
  const count = (s: Severity) => sorted.filter((f) => f.severity === s).length;
  const summary = (["error", "warning", "info"] as const).map((s) =>
    `${count(s)} ${s}${count(s) === 1 ? "" : "s"}`
  )
    .join(", ");
  return `<p class="meta">${summary}</p>\n` + sorted.map((f) => {
    const [bg, border] = SEVERITY_COLORS[f.severity];
    return `<div class="finding sev-${f.severity}" style="background:${bg};border-left:4px solid ${border};` +
      `padding:6px 10px;margin:6px 0;text-align:left"><b style="color:${border}">${f.severity.toUpperCase()}</b> ` +
      `<code>${escapeHtml(f.code)}</code> ${escapeHtml(f.message)}</div>`;
  }).join("\n");
}

/** One plain line per finding, errors first: `ERROR [judge_fallback] …`. */
export function integrityLines(findings: readonly Finding[]): string[] {
  return sortFindings(findings).map((f) => `${f.severity.toUpperCase()} [${f.code}] ${f.message}`);
}

/** The settings table (key options per run) and the config diff (every option whose value differs). */
export function settingsHtml(runs: readonly RunSettings[]): string {
  if (!runs.length) return "<p>No run_config.json with options was loaded (TRL logs carry none).</p>";
  const t = settingsTable(runs);
  const diff = configDiff(runs);
  const diffHtml = diff.length
    ? htmlTable(
      ["option", ...runs.map((r) => `${groupLabel(r)} seed ${r.seed}`)],
      diff.map((d) => [d.key, ...d.values]),
    )
    : "<p>All runs share the same options (besides output folder, seed and rewards).</p>";
  return `${
    htmlTable(t.header, t.rows)
  }\n<h3>Config diff (options that differ between runs)</h3>\n${diffHtml}`;
}

/** Paired held-out comparisons as a table: difference, paired 95% CI, pairs, McNemar, verdict, caveat. */
export function pairedTable(paired: readonly PairedComparison[]): string {
  if (!paired.length) {
    return "<p>No paired comparison: no run logged per-example held-out results (eval_completions.jsonl) at two or more evaluations.</p>";
  }
  return htmlTable(
    [
      "a",
      "b",
      "metric",
      "a − b",
      "paired 95% CI",
      "problems",
      "McNemar (gained / lost, exact p)",
      "verdict",
      "caveat",
    ],
    paired.map((c) => {
      const pts = c.metric === "accuracy";
      const f = (x: number) => (pts ? `${(100 * x).toFixed(1)} pts` : x.toFixed(2));
      return [
        groupLabel({ source: c.source, experiment: c.a }),
        c.b === "base model" ? "base model (step 0)" : groupLabel({ source: c.source, experiment: c.b }),
        c.metric,
        { html: escapeHtml(f(c.diff.estimate)), cls: "num" },
        { html: escapeHtml(`${f(c.diff.lo)} to ${f(c.diff.hi)}`), cls: "num" },
        c.diff.n,
        c.mcnemar ? `${c.mcnemar.aOnly} / ${c.mcnemar.bOnly}, p = ${c.mcnemar.p.toFixed(3)}` : "—",
        distinguishable(c.diff) ? (c.diff.lo > 0 ? "a ahead" : "b ahead") : "not distinguishable",
        c.fallback.count ? `judge fallback scored ${c.fallback.count} of ${c.fallback.of}` : "",
      ];
    }),
  );
}
