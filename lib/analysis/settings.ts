/**
 * Settings of the compared runs: a table of the options that matter for a comparison, the config
 * diff (every option whose value differs between runs), and `settings_differ` integrity findings for
 * runs whose key settings (model, batch, learning rate, evaluation size, …) differ from the others, so
 * the difference is seen before the comparison is read.
 * @module
 */
import type { Finding } from "./integrity.ts";
import { type RunKey, runLabel } from "./table.ts";

/** A run with its resolved options (`run_config.json` → `config`). */
export interface RunSettings extends RunKey {
  /** The resolved options. */
  config: Record<string, unknown>;
}

/** Options that make two runs comparable only when equal (in table order). */
export const KEY_SETTINGS = [
  "model",
  "dataset",
  "max_steps",
  "per_device_train_batch_size",
  "num_generations",
  "gradient_accumulation_steps",
  "learning_rate",
  "beta",
  "max_completion_length",
  "temperature",
  "eval_size",
] as const;

/** Options that differ between runs by design or do not change results; never listed in the diff. */
const IGNORED = new Set([
  "output_dir",
  "seed",
  "reward_funcs",
  "reward_weights",
  "resume_from_checkpoint",
  "logging_steps",
  "save_steps",
  "threads",
  "device",
]);

function show(v: unknown): string {
  return v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v);
}

/** The key settings of each run: a header (`run`, then {@linkcode KEY_SETTINGS}) and one row of strings per run. */
export function settingsTable(runs: readonly RunSettings[]): { header: string[]; rows: string[][] } {
  return {
    header: ["run", ...KEY_SETTINGS],
    rows: runs.map((r) => [runLabel(r, { withSeed: true }), ...KEY_SETTINGS.map((k) => show(r.config[k]))]),
  };
}

/** Every option (besides the ones that differ by design) whose value is not the same in all runs. */
export function configDiff(runs: readonly RunSettings[]): { key: string; values: string[] }[] {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))].filter((k) => !IGNORED.has(k)).sort();
  return keys.map((key) => ({ key, values: runs.map((r) => show(r.config[key])) }))
    .filter((d) => new Set(d.values).size > 1);
}

/**
 * A `settings_differ` warning per run whose key settings differ from the most common value among the
 * runs (the option, its value and the others' named); when no value is most common, every run is flagged.
 */
export function settingsFindings(runs: readonly RunSettings[]): Finding[] {
  if (runs.length < 2) return [];
  const out: Finding[] = [];
  // A key's common value: the unique most frequent one; on a tie there is none, and every run is flagged.
  const common = new Map<string, string | undefined>();
  for (const k of KEY_SETTINGS) {
    const counts = new Map<string, number>();
    for (const r of runs) counts.set(show(r.config[k]), (counts.get(show(r.config[k])) ?? 0) + 1);
    const sorted = [...counts].sort((a, b) => b[1] - a[1]);
    common.set(k, sorted.length > 1 && sorted[0][1] === sorted[1][1] ? undefined : sorted[0][0]);
  }
  for (const r of runs) {
    const diffs = KEY_SETTINGS.filter((k) => show(r.config[k]) !== common.get(k)).map((k) => {
      const others = [...new Set(runs.filter((o) => o !== r).map((o) => show(o.config[k])))]
        .filter((v) => v !== show(r.config[k]));
      return `${k} = ${show(r.config[k])} (others: ${others.join(", ")})`;
    });
    if (!diffs.length) continue;
    out.push({
      code: "settings_differ",
      severity: "warning",
      experiment: r.experiment,
      source: r.source,
      seed: r.seed,
      message: `${runLabel(r, { withSeed: true })}: settings differ from the other runs: ${
        diffs.join(", ")
      }; compare it with them only with that in mind.`,
    });
  }
  return out;
}
