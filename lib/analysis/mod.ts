/**
 * Analysis of training runs: loading (ours and TRL `trainer_state.json`) into a tidy arquero
 * table, statistics with t intervals across seeds (paired bootstrap and McNemar within a run), integrity checks, plotly figures, findings in words, and the
 * study's views, each built once: the comparison (`comparisonView`, rendered by the self-contained HTML
 * report and shown by the Comparison notebook) and a training notebook's results (`runResultsView`).
 * @module
 */
export * from "./table.ts";
export * from "./load.ts";
export * from "./stats.ts";
export * from "./integrity.ts";
export * from "./figures.ts";
export * from "./reward_figures.ts";
export * from "./bars.ts";
export * from "./dashboard.ts";
export * from "./findings.ts";
export * from "./verdicts.ts";
export * from "./claims.ts";
export * from "./measures.ts";
export * from "./seed_stats.ts";
export * from "./paired.ts";
export * from "./settings.ts";
export * from "./plotly_html.ts";
export * from "./display.ts";
export * from "./report.ts";
export * from "./report_sections.ts";
export * from "./stats_tables.ts";
export * from "./sections.ts";
export * from "./comparison_view.ts";
export * from "./run_view.ts";
export * from "./completions_view.ts";
export * from "./figure_export.ts";
export { escapeHtml, htmlTable, READABLE_CELL, readableHtml, readableTable } from "./html.ts";
export type { TableCell } from "./html.ts";
