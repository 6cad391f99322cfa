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
import { EXPERIMENT_IDS, experimentConfig, EXPERIMENTS } from "../lib/study/mod.ts";
import { runMain } from "../lib/util/mod.ts";

/**
 * Options that decide what an arm measures, besides its own `defaults`: a run that changed any of them
 * (e.g. `--param max_steps=2`) is not the experiment as defined and is left out of the verdicts. Operational
 * options (threads, device, output folder, logging, checkpoints) are not among them.
 */
export const DEFINING_OPTIONS: readonly string[] = [
  "reward_funcs",
  "model",
  "dataset",
  "max_steps",
  "eval_size",
  "eval_steps",
  "eval_num_samples",
  "learning_rate",
  "num_generations",
  "per_device_train_batch_size",
  "max_completion_length",
  "temperature",
  "beta",
  "loss_type",
  "scale_rewards",
];

/** Each study experiment's defining options, resolved by lib/study, for {@linkcode studyVerdicts}. */
export function experimentDefinitions(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(EXPERIMENT_IDS.map((id) => {
    const cfg = experimentConfig(id) as unknown as Record<string, unknown>;
    const keys = new Set([...Object.keys(EXPERIMENTS[id].defaults), ...DEFINING_OPTIONS]);
    return [id, Object.fromEntries([...keys].filter((k) => k in cfg).map((k) => [k, cfg[k]]))];
  }));
}

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
