/**
 * Verdicts on the seed study's expected results, computed from our runs — never written by hand.
 *
 * Each expected result is a row of the claims table ({@linkcode EXPECTATIONS} in claims.ts); each claim is
 * a per-seed quantity summarised across seeds by a Student t interval ({@linkcode VERDICT_METHOD}). Only
 * finished runs whose resolved options match their experiment's definition are pooled, and a run with an
 * integrity error is left out (with a line saying so) unless the verdict reads that error itself.
 * Statements about a reward structure come only from these across-seed statistics; the per-problem
 * paired intervals (paired.ts) describe one trained run.
 * @module
 */
import { checkIntegrity, type Finding } from "./integrity.ts";
import type { LoadedRuns } from "./load.ts";
import { type SeedCI, seedDiffCI, type SeedValue, tMeanCI } from "./seed_stats.ts";
import { type ColumnTable, type Run, runLabel, runsOf } from "./table.ts";
import {
  ACCURACY_DELTA,
  type ClaimKind,
  type ClaimRow,
  type ExpectationRow,
  EXPECTATIONS,
  JUDGE_DELTA,
} from "./claims.ts";
import { gateReason, MEASURES } from "./measures.ts";

export { ACCURACY_DELTA, BREAKDOWN_FALLBACK_FRAC, JUDGE_DELTA } from "./claims.ts";

/** How verdicts are computed, in plain words: the verdict views print it. */
export const VERDICT_METHOD: string =
  "Each claim is a per-seed number — a held-out gain (last evaluation minus " +
  "step 0 of the same run), or that gain minus a control's on the same seed — summarised by its mean " +
  "across seeds with a 95 % Student t interval: on the per-seed differences when both arms ran the " +
  "same seeds (paired: they share each seed's held-out split and data order), else Welch's t. A gain " +
  "claim holds when the interval lies above 0 and is contradicted when it lies at or below 0; a " +
  `"fails" claim holds when it lies below the smallest effect of interest (${100 * ACCURACY_DELTA} ` +
  `accuracy points, ${JUDGE_DELTA} judge points) and is contradicted when it lies above 0. The t ` +
  "interval keeps its level at any number of seeds from 2 up, so with no true difference a claim " +
  "holds by chance in at most 2.5 % of studies; one seed decides nothing. Reproduced = every deciding " +
  "claim holds; not reproduced = one is contradicted; otherwise inconclusive. A judge-scored verdict is " +
  "inconclusive when most held-out scores came from the local fallback or the judge paid empty answers in " +
  "its master-key audit; API breakdown is decided from the judge's own call counters. Only finished runs whose " +
  "options match their experiment's definition are pooled; a run with an integrity error is left out " +
  "with a line saying so. Per-problem paired intervals (McNemar, paired bootstrap) describe the trained " +
  "runs at hand, never the reward structure.";

/** The three outcomes. */
export type VerdictOutcome = "reproduced" | "not reproduced" | "inconclusive";

/** One claim's evidence. */
export interface ClaimResult {
  /** What was tested, e.g. "strict-accuracy gain beyond math_random". */
  label: string;
  /** Mean across seeds with its t interval (NaN when there were no runs). */
  ci: SeedCI;
  /** Whether it holds, is contradicted, is undecided, or is only reported. */
  status: "holds" | "contradicted" | "undecided" | "reported";
  /** How its numbers are shown: a 0–1 share in points, a fraction in %, else plain. */
  unit: ClaimRow["unit"];
}

/** A verdict on one expected result. */
export interface Verdict {
  /** The expected result, e.g. "math hard works". */
  expectation: string;
  /** The outcome. */
  outcome: VerdictOutcome;
  /** The claims it rests on (and the reported ones). */
  claims: ClaimResult[];
  /** A caveat or gate that decided or qualifies it (e.g. the judge was never reached). */
  note?: string;
  /** Runs of its arms left out of it, one line each. */
  excluded: string[];
  /** Checks that could not be made (no run configs, no definitions), one line each. */
  unchecked: string[];
  /** One line: expectation, outcome, every number used, and the runs left out. */
  line: string;
}

/** Options of {@linkcode studyVerdicts}. */
export interface VerdictOptions {
  /**
   * Each experiment's defining options (e.g. lib/study's `EXPERIMENTS[id].defaults`): a run whose
   * resolved options differ on any of them, or whose experiment has none, is left out. Without it the
   * options are not checked.
   */
  definitions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Mean master-key score (0–10) above which the judge counts as fooled (default 2). */
  masterKeyThreshold?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

/** A run left out of every verdict, and why. */
export interface Exclusion {
  /** The run. */
  run: Run;
  /** Why, e.g. "unfinished: last step 20 of 40". */
  reason: string;
}

/** The runs verdicts pool: finished, matching their definition; integrity errors per run. */
export interface PooledRuns {
  /** Runs that may be pooled (integrity errors are decided per verdict). */
  runs: Run[];
  /** Runs left out of every verdict. */
  excluded: Exclusion[];
  /** Integrity errors per run (key `experiment/seed`). */
  errors: Map<string, Finding[]>;
  /** What was not checked (no run configs, no definitions), one line each. */
  unchecked: string[];
}

const key = (r: { experiment: string; seed: number }) => `${r.experiment}/${r.seed}`;

function isTable(x: LoadedRuns | ColumnTable): x is ColumnTable {
  return typeof (x as ColumnTable).numRows === "function";
}

function lastStep(run: Run): number {
  let m = 0;
  for (const s of run.metrics.values()) m = Math.max(m, s.steps[s.steps.length - 1] ?? 0);
  return m;
}

function optionMismatch(config: Record<string, unknown>, def: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const [k, want] of Object.entries(def)) {
    const got = k.split(".").reduce<unknown>(
      (o, p) => (o && typeof o === "object" ? (o as Record<string, unknown>)[p] : undefined),
      config,
    );
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      out.push(`${k} ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`);
    }
  }
  return out;
}

/**
 * The runs verdicts may pool: our runs (not TRL logs) that finished (last logged step ≥ `max_steps`) and
 * whose resolved options match their experiment's definition; each other run is an {@linkcode Exclusion}.
 * Given a bare table, neither is checked (said in `unchecked`).
 */
export function poolRuns(loaded: LoadedRuns | ColumnTable, options: VerdictOptions = {}): PooledRuns {
  const table = isTable(loaded) ? loaded : loaded.table;
  const all = runsOf(table).filter((r) => r.source === "ours");
  const infos = isTable(loaded) ? undefined : new Map(
    loaded.runs.filter((r) => r.source === "ours").map((r) => [key(r), r]),
  );
  const unchecked: string[] = [];
  if (!infos) unchecked.push("runs were given as a bare table: completion and options not checked");
  else if (!options.definitions) unchecked.push("no experiment definitions given: run options not checked");
  const runs: Run[] = [], excluded: Exclusion[] = [];
  for (const run of all) {
    const cfg = infos?.get(key(run))?.config;
    let reason: string | undefined;
    if (infos) {
      const max = Number(cfg?.max_steps);
      if (!cfg || !Number.isFinite(max)) {
        reason = "cannot tell whether it finished (no max_steps in run_config.json)";
      } else if (lastStep(run) < max) reason = `unfinished: last step ${lastStep(run)} of ${max}`;
      else if (options.definitions) {
        const def = options.definitions[run.experiment];
        const diff = def ? optionMismatch(cfg, def) : [];
        if (!def) reason = "not a defined experiment";
        else if (diff.length) reason = `options differ from the experiment's definition: ${diff.join(", ")}`;
      }
    }
    if (reason) excluded.push({ run, reason });
    else runs.push(run);
  }
  const errors = new Map<string, Finding[]>();
  for (const f of checkIntegrity(table, { masterKeyScore: options.masterKeyThreshold })) {
    if (f.severity !== "error" || f.source !== "ours") continue;
    const k = key(f);
    if (!errors.has(k)) errors.set(k, []);
    errors.get(k)!.push(f);
  }
  return { runs, excluded, errors, unchecked };
}

function decide(kind: ClaimKind, ci: SeedCI, row: ClaimRow): ClaimResult["status"] {
  if (kind === "reported") return "reported";
  if (!(ci.n >= 2) || !Number.isFinite(ci.lo) || !Number.isFinite(ci.hi)) return "undecided";
  const t = row.threshold ?? 0;
  if (kind === "gain") return ci.lo > t ? "holds" : ci.hi <= t ? "contradicted" : "undecided";
  if (kind === "below") return ci.hi < t ? "holds" : ci.lo >= t ? "contradicted" : "undecided";
  return ci.hi < (row.delta ?? ACCURACY_DELTA) ? "holds" : ci.lo > 0 ? "contradicted" : "undecided";
}

function fmt(x: number, unit: ClaimRow["unit"]): string {
  const v = unit === "plain" ? x : x * 100;
  const a = Math.abs(v);
  const s = a >= 10 ? a.toFixed(1) : a >= 1 ? a.toFixed(2) : a.toFixed(3);
  return `${v > 0 ? "+" : v < 0 ? "−" : ""}${s}${unit === "percent" ? " %" : ""}`;
}

function claimText(c: ClaimResult): string {
  const u = c.unit === "points" ? " points" : "";
  const tag = c.status === "reported" ? " [reported, decides nothing]" : "";
  if (!Number.isFinite(c.ci.estimate)) return `${c.label}: no runs${tag}`;
  const est = `${c.label} ${fmt(c.ci.estimate, c.unit)}${u}`;
  if (c.ci.n < 2) {
    const why = c.ci.method === "Welch t" ? "fewer than 2 seeds in an arm" : `${c.ci.n} seed`;
    return `${est} (${why}, no interval)${tag}`;
  }
  const how = c.ci.method === "paired t"
    ? `paired t, ${c.ci.n} shared seeds`
    : c.ci.method === "Welch t"
    ? `Welch t, ${c.ci.seeds.length} vs ${c.ci.seedsB?.length} seeds`
    : `t, ${c.ci.n} seeds`;
  return `${est} (95% CI ${fmt(c.ci.lo, c.unit)} to ${fmt(c.ci.hi, c.unit)}, ${how})${tag}`;
}

function combine(row: ExpectationRow, claims: ClaimResult[]): VerdictOutcome {
  const d = claims.filter((c) => c.status !== "reported");
  if (row.combine === "first_and_any") {
    const [first, ...rest] = d;
    if (first?.status === "contradicted" || (rest.length && rest.every((c) => c.status === "contradicted"))) {
      return "not reproduced";
    }
    return first?.status === "holds" && rest.some((c) => c.status === "holds")
      ? "reproduced"
      : "inconclusive";
  }
  if (d.some((c) => c.status === "contradicted")) return "not reproduced";
  return d.length && d.every((c) => c.status === "holds") ? "reproduced" : "inconclusive";
}

/** The verdict on one expected result, from pooled runs. */
export function verdictOf(row: ExpectationRow, pooled: PooledRuns, options: VerdictOptions = {}): Verdict {
  const arms = [...new Set(row.claims.flatMap((c) => (c.control ? [c.arm, c.control] : [c.arm])))];
  const excluded = pooled.excluded.filter((e) => arms.includes(e.run.experiment)).map((e) =>
    `${runLabel(e.run, { withSeed: true })} left out: ${e.reason}`
  );
  const usable = pooled.runs.filter((r) => {
    if (!arms.includes(r.experiment)) return false;
    const bad = (pooled.errors.get(key(r)) ?? []).filter((f) => !row.reads.includes(f.code));
    if (bad.length) {
      excluded.push(
        `${runLabel(r, { withSeed: true })} left out: integrity error ${bad.map((f) => f.code).join(", ")}`,
      );
    }
    return !bad.length;
  });
  const values = (arm: string, c: ClaimRow): SeedValue[] => {
    const mine = usable.filter((r) => r.experiment === arm);
    return mine.flatMap((r) => {
      const v = MEASURES[c.measure](r, mine);
      return v !== undefined && Number.isFinite(v) ? [{ seed: r.seed, value: v }] : [];
    });
  };
  const level = { level: options.level };
  const claims = row.claims.map((c): ClaimResult => {
    const ci = c.control
      ? seedDiffCI(values(c.arm, c), values(c.control, c), level)
      : tMeanCI(values(c.arm, c), level);
    return { label: c.label, ci, status: decide(c.kind, ci, c), unit: c.unit };
  });
  const gate = row.gates.map((g) => gateReason(g, usable, options)).find((x) => x !== undefined);
  const outcome = gate ? "inconclusive" : combine(row, claims);
  const notes = [gate ? `inconclusive because ${gate}` : undefined, row.note].filter(Boolean);
  const note = notes.length ? notes.join("; ") : undefined;
  const evidence = claims.map(claimText).join("; ");
  const left = excluded.length ? `; ${excluded.join("; ")}` : "";
  const line = `${row.expectation}: ${outcome.toUpperCase()} — ${evidence || "no runs"}${
    note ? ` (${note})` : ""
  }${left}.`;
  return { expectation: row.expectation, outcome, claims, note, excluded, unchecked: pooled.unchecked, line };
}

/**
 * The verdicts on every expected result of the claims table ({@linkcode EXPECTATIONS}) from our runs:
 * `loaded` as {@linkcode loadRuns} returns it (completion and options are then checked), or a bare table.
 */
export function studyVerdicts(loaded: LoadedRuns | ColumnTable, options: VerdictOptions = {}): Verdict[] {
  const pooled = poolRuns(loaded, options);
  return EXPECTATIONS.map((row) => verdictOf(row, pooled, options));
}

/**
 * The lines the verdict views print under the verdicts: how they were computed ({@linkcode VERDICT_METHOD}),
 * every run left out (once), and every check that could not be made.
 */
export function verdictNotes(verdicts: readonly Verdict[]): string[] {
  const left = [...new Set(verdicts.flatMap((v) => v.excluded))];
  const unchecked = [...new Set(verdicts.flatMap((v) => v.unchecked))];
  return [
    `Method: ${VERDICT_METHOD}`,
    ...left,
    ...unchecked.map((l) => `Not checked: ${l}`),
  ];
}
