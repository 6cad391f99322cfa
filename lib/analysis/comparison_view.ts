/**
 * The study's comparison, built once: integrity checks, settings, what was loaded, statistics, paired
 * held-out comparisons, findings, verdicts, figures and the completions viewer of a set of runs. The HTML
 * report renders it (`renderReport`), the Comparison notebook shows it section by section
 * (`await show(view.integrity)`, …), and the training notebooks show the same sections of their own runs
 * (`runResultsView`).
 * @module
 */
import { evalViewerItems } from "./completions_view.ts";
import { type Dashboard, dashboardFigures, type DashboardOptions, runFigures } from "./dashboard.ts";
import { findingSentences } from "./findings.ts";
import {
  checkIntegrity,
  type Finding,
  type IntegrityOptions,
  judgeFallbackCaveats,
  sortFindings,
} from "./integrity.ts";
import { type LoadedRuns, loadEvalRecords, loadRuns } from "./load.ts";
import { pairedBetween, type PairedComparison, pairedVsBase, type RunEval } from "./paired.ts";
import {
  completionsSection,
  integritySection,
  loadedSection,
  pairedSection,
  type Section,
  section,
  sentencesSection,
  settingsSection,
  statisticsSection,
  type StudyStatistics,
  studyStatistics,
} from "./sections.ts";
import { type RunSettings, settingsFindings } from "./settings.ts";
import type { ColumnTable } from "./table.ts";
import { studyVerdicts, type Verdict, verdictNotes } from "./verdicts.ts";

/** Options of {@linkcode comparisonView}. */
export interface ComparisonViewOptions {
  /** What was loaded (its runs' settings are compared; listed with its warnings in {@linkcode ComparisonView.loaded}). */
  loaded?: Pick<LoadedRuns, "runs" | "warnings">;
  /** Start/end window in steps (default 10). */
  window?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Integrity thresholds. */
  integrity?: IntegrityOptions;
  /** Figure options (smoothing, band). */
  figures?: Pick<DashboardOptions, "smoothing" | "band">;
  /** Which figures: the study's dashboard (default) or a training notebook's run figures. */
  figureSet?: "study" | "run";
  /** Per-example held-out logs (`loadEvalRecords`): paired comparisons and the completions viewer. */
  evalRuns?: readonly RunEval[];
  /**
   * Each experiment's defining options (lib/study's `experimentDefinitions()`): the verdicts pool only
   * finished runs that match them. Without them (or without `loaded`), the verdicts say what was not checked.
   */
  definitions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** Everything a comparison computed, for callers that need the values behind the sections. */
export interface ComparisonData {
  /** Integrity findings (settings included), errors first. */
  integrity: Finding[];
  /** Runs' settings. */
  settings: RunSettings[];
  /** Statistics per run, per experiment and between experiments. */
  statistics: StudyStatistics;
  /** Paired held-out comparisons: each run against its base model, then experiments against each other. */
  paired: PairedComparison[];
  /** The paired comparisons against the base model only (their intervals go on the improvement bars). */
  pairedVsBase: PairedComparison[];
  /** Findings sentences. */
  sentences: string[];
  /** The study's verdicts. */
  verdicts: Verdict[];
  /** A caveat per group (`source/experiment`), e.g. the judge fallback. */
  caveats: Map<string, string>;
}

/** The comparison of a set of runs as sections (each displays itself) and figures. */
export interface ComparisonView {
  /** The runs' table. */
  table: ColumnTable;
  /** The options it was built with. */
  options: ComparisonViewOptions;
  /** What was loaded, with the loading warnings (a line saying nothing was listed when `loaded` was not given). */
  loaded: Section;
  /** Integrity findings by severity, and the judge-fallback caveats. */
  integrity: Section;
  /** Settings table and config diff. */
  settings: Section;
  /** Statistics tables. */
  statistics: Section;
  /** Paired held-out comparisons. */
  paired: Section;
  /** Findings in words. */
  findings: Section;
  /** One line per expected result of the study. */
  verdicts: Section;
  /** The figures (and the ones left out, with the reason). */
  figures: Dashboard;
  /** Held-out completions viewer. */
  completions: Section;
  /** The values behind the sections. */
  data: ComparisonData;
}

/** Builds the comparison of the runs in `table` (pure: nothing is read or written). */
export function comparisonView(table: ColumnTable, options: ComparisonViewOptions = {}): ComparisonView {
  const boot = { seed: options.seed ?? 0, resamples: options.resamples };
  const statistics = studyStatistics(table, { ...boot, window: options.window });
  const settings: RunSettings[] = (options.loaded?.runs ?? []).filter((r) => r.config).map((r) => ({
    source: r.source,
    experiment: r.experiment,
    seed: r.seed,
    config: r.config!,
  }));
  const integrity = sortFindings([
    ...checkIntegrity(table, { window: options.window, ...options.integrity }),
    ...settingsFindings(settings),
  ]);
  const caveats = judgeFallbackCaveats(table);
  const evalRuns = options.evalRuns ?? [];
  const vsBase = pairedVsBase(evalRuns, boot);
  const paired = [...vsBase, ...pairedBetween(evalRuns, boot)];
  const sentences = findingSentences(statistics.experiments, statistics.comparisons, { paired, caveats });
  const verdicts = studyVerdicts(options.loaded ? { ...options.loaded, table } : table, {
    definitions: options.definitions,
  });
  const figures = options.figureSet === "run"
    ? runFigures(table, { smoothing: options.figures?.smoothing, caveats })
    : dashboardFigures(table, { ...options.figures, stats: statistics.experiments, paired: vsBase, caveats });
  return {
    table,
    options,
    loaded: options.loaded
      ? loadedSection(options.loaded)
      : section({ id: "loaded", title: "Data loaded", html: "", plain: "" }),
    integrity: integritySection(integrity, { runs: statistics.runs.length, caveats }),
    settings: settingsSection(settings),
    statistics: statisticsSection(statistics, { caveats }),
    paired: pairedSection(paired),
    findings: sentencesSection(sentences, { id: "findings", title: "Findings" }),
    verdicts: sentencesSection([...verdicts.map((v) => v.line), ...verdictNotes(verdicts)], {
      id: "verdicts",
      title: "Verdicts",
      none: "No verdicts: no expected result of the study has runs.",
    }),
    figures,
    completions: completionsSection(evalViewerItems(evalRuns)),
    data: { integrity, settings, statistics, paired, pairedVsBase: vsBase, sentences, verdicts, caveats },
  };
}

/** Options of {@linkcode loadComparison}. */
export interface LoadComparisonOptions extends Omit<ComparisonViewOptions, "loaded" | "evalRuns"> {
  /** Paths in messages relative to this folder (default: as given). */
  relativeTo?: string;
}

/**
 * Loads every run under `paths` (our run folders and TRL logs; none found is not an error) and their
 * per-example held-out logs, and builds their {@linkcode comparisonView}; warnings of both loads are
 * listed in its `loaded` section.
 */
export async function loadComparison(
  paths: readonly string[],
  options: LoadComparisonOptions = {},
): Promise<ComparisonView> {
  const loaded = await loadRuns([...paths], { allowEmpty: true, relativeTo: options.relativeTo });
  const evals = await loadEvalRecords(loaded);
  return comparisonView(loaded.table, {
    ...options,
    loaded: { runs: loaded.runs, warnings: [...loaded.warnings, ...evals.warnings] },
    evalRuns: evals.runs,
  });
}
