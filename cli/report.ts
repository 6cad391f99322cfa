/**
 * `deno task report [--outputs outputs] [--trl-logs DIR | --no-trl-logs] [--out outputs/report.html]
 * [--title TEXT] [--window N] [--figures DIR]`: loads our runs, their per-example held-out logs, the
 * Testing notebook's results and the TRL logs, writes one offline HTML report; `--figures DIR` also
 * writes every figure as SVG and PNG (headless Chromium).
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  describeLoaded,
  exportFigures,
  integrityLines,
  loadEvalRecords,
  loadRuns,
  writeReport,
} from "../lib/analysis/mod.ts";
import { comparisonTable, readTestingResults } from "../lib/eval/mod.ts";
import { experimentDefinitions } from "../lib/study/mod.ts";
import { runMain, UserError } from "../lib/util/mod.ts";

const USAGE =
  "usage: deno task report [--outputs DIR] [--trl-logs DIR | --no-trl-logs] [--out FILE] [--title TEXT] [--window N] [--figures DIR]";

/** Parsed command line. */
export interface ReportArgs {
  /** Our output folder (default "outputs"). */
  outputs: string;
  /** Whether `outputs` was given explicitly (then it must exist). */
  outputsGiven: boolean;
  /** TRL log folder, or null for none. */
  trlLogs: string | null;
  /** HTML file to write. */
  out: string;
  /** Report title. */
  title?: string;
  /** Start/end window in steps. */
  window?: number;
  /** Folder for each figure as SVG and PNG. */
  figures?: string;
  /** Print usage and exit. */
  help: boolean;
}

/** The shared TRL logs beside the repository (`../shared/data/trl-logs`), when present. */
export function defaultTrlLogs(): string | null {
  const dir = fileURLToPath(new URL("../../shared/data/trl-logs", import.meta.url));
  return existsSync(dir) ? dir : null;
}

/** Parses the flags (`--flag value` or `--flag=value`); an unknown flag or missing value is a UserError. */
export function parseReportArgs(
  argv: readonly string[],
  defaults: { trlLogs: string | null } = { trlLogs: null },
): ReportArgs {
  const args: ReportArgs = {
    outputs: "outputs",
    outputsGiven: false,
    trlLogs: defaults.trlLogs,
    out: "outputs/report.html",
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes("=")
      ? [argv[i].slice(0, argv[i].indexOf("=")), argv[i].slice(argv[i].indexOf("=") + 1)]
      : [argv[i], undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new UserError(`${flag}: missing value (${USAGE})`);
      return v;
    };
    switch (flag) {
      case "--outputs":
        args.outputs = value();
        args.outputsGiven = true;
        break;
      case "--trl-logs":
        args.trlLogs = value();
        break;
      case "--no-trl-logs":
        args.trlLogs = null;
        break;
      case "--out":
        args.out = value();
        break;
      case "--title":
        args.title = value();
        break;
      case "--figures":
        args.figures = value();
        break;
      case "--window": {
        const v = value(), n = Number(v);
        if (!Number.isInteger(n) || n < 1) {
          throw new UserError(`--window: expected a positive integer, got "${v}"`);
        }
        args.window = n;
        break;
      }
      case "-h":
      case "--help":
        args.help = true;
        break;
      default:
        throw new UserError(`unknown flag "${argv[i]}" (${USAGE})`);
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseReportArgs(Deno.args, { trlLogs: defaultTrlLogs() });
  if (args.help) return console.log(USAGE);
  const paths: string[] = [];
  if (existsSync(args.outputs)) paths.push(args.outputs);
  else if (args.outputsGiven) throw new UserError(`--outputs ${args.outputs}: no such folder`);
  else console.log(`note: ${args.outputs}/ does not exist yet, so no runs of ours are included`);
  if (args.trlLogs) {
    if (!existsSync(args.trlLogs)) throw new UserError(`--trl-logs ${args.trlLogs}: no such folder`);
    paths.push(args.trlLogs);
  }
  if (!paths.length) {
    throw new UserError(`nothing to report: ${args.outputs}/ does not exist and no --trl-logs given`);
  }
  const loaded = await loadRuns(paths, { relativeTo: Deno.cwd() });
  console.log(`loaded ${loaded.runs.length} runs:`);
  for (const line of describeLoaded(loaded)) console.log(`  ${line}`);
  for (const w of loaded.warnings) console.log(`  warning: ${w}`);
  const evals = await loadEvalRecords(loaded);
  for (const w of evals.warnings) console.log(`  warning: ${w}`);
  if (evals.runs.length) console.log(`per-example held-out logs: ${evals.runs.length} runs`);
  const testing = existsSync(args.outputs) ? await readTestingResults(args.outputs) : undefined;
  if (testing) {
    console.log(`Testing notebook results: ${testing.rows.length} models (${testing.generatedAt})`);
  }
  const summary = await writeReport(loaded.table, {
    path: args.out,
    title: args.title,
    window: args.window,
    loaded,
    evalRuns: evals.runs,
    definitions: experimentDefinitions(),
    testingHtml: testing
      ? `<p class="meta">From the Testing notebook, ${testing.generatedAt}.</p>${
        comparisonTable(testing.rows)
      }`
      : undefined,
  });
  console.log(
    `${summary.integrity.length} integrity findings, ${summary.sentences.length} findings sentences, ${summary.figures} figures`,
  );
  for (const line of integrityLines(summary.integrity)) console.log(`  ${line}`);
  console.log(`wrote ${summary.path} (${(summary.bytes / 1e6).toFixed(1)} MB)`);
  if (args.figures) {
    const files = await exportFigures(summary.figureSpecs, args.figures);
    console.log(`wrote ${files.length / 2} figures as SVG and PNG to ${args.figures}`);
  }
}

if (import.meta.main) await runMain(main);
