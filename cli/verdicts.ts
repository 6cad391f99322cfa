/**
 * `deno task verdicts [DIR …]`: the verdicts on the seed study's expected results for the runs in
 * the given folders (default `outputs/`), as a Markdown table (the README's table comes from it).
 * @module
 */
import { loadRuns, studyVerdicts, type Verdict } from "../lib/analysis/mod.ts";
import { runMain } from "../lib/util/errors.ts";

/** The verdicts as a Markdown table: expectation, outcome, evidence. */
export function verdictTable(verdicts: readonly Verdict[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const rows = verdicts.map((v) => {
    const evidence = v.line.slice(v.line.indexOf(" — ") + 3);
    return `| ${esc(v.expectation)} | **${v.outcome}** | ${esc(evidence)} |`;
  });
  return ["| expected result | verdict | evidence |", "| --- | --- | --- |", ...rows].join("\n");
}

if (import.meta.main) {
  await runMain(async () => {
    const dirs = Deno.args.length ? Deno.args : ["outputs"];
    const loaded = await loadRuns(dirs, { allowEmpty: true });
    for (const w of loaded.warnings) console.warn(w);
    console.log(verdictTable(studyVerdicts(loaded.table)));
  });
}
