/**
 * `deno task verdicts [DIR …]`: the verdicts on the seed study's expected results for the runs in
 * the given folders (default `outputs/`; symbolic links are followed), as a Markdown table (the README's
 * table comes from it), then how they were computed and every run left out, one line each. Runs are
 * pooled only when finished and run with their experiment's defining options (lib/study).
 * @module
 */
import {
  type LoadedRuns,
  loadRuns,
  studyVerdicts,
  type Verdict,
  verdictNotes,
  type VerdictOptions,
} from "../lib/analysis/mod.ts";
import { experimentDefinitions } from "../lib/study/mod.ts";
import { runMain } from "../lib/util/mod.ts";

/** The verdicts as a Markdown table: expectation, outcome, evidence. */
export function verdictTable(verdicts: readonly Verdict[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const rows = verdicts.map((v) => {
    const evidence = v.line.slice(v.line.indexOf(" — ") + 3);
    return `| ${esc(v.expectation)} | **${v.outcome}** | ${esc(evidence)} |`;
  });
  return ["| expected result | verdict | evidence |", "| --- | --- | --- |", ...rows].join("\n");
}

/** The full printout: the table, then the method and every run left out or check not made, one line each. */
export function verdictReport(loaded: LoadedRuns, options: VerdictOptions = {}): string {
  const verdicts = studyVerdicts(loaded, options);
  return [verdictTable(verdicts), "", ...verdictNotes(verdicts)].join("\n");
}

if (import.meta.main) {
  await runMain(async () => {
    const dirs = Deno.args.length ? Deno.args : ["outputs"];
    const loaded = await loadRuns(dirs, { allowEmpty: true });
    for (const w of loaded.warnings) console.warn(w);
    console.log(verdictReport(loaded, { definitions: experimentDefinitions() }));
  });
}
