/**
 * Paired held-out comparisons from the per-example evaluation log (`eval_completions.jsonl`): a run's
 * last evaluation against its own step-0 evaluation (the base model, on the same problems), and two
 * experiments' last evaluations on the same problems (runs matched by seed, problems by prompt). Each
 * comparison carries a paired-bootstrap 95 % interval (resampled within seeds) and, for right/wrong
 * outcomes, McNemar's exact test, so one seed of 100 problems already gets an interval. These intervals
 * describe the trained runs at hand (their sampling of problems), not the reward structure: every sentence
 * says "this run" / "these runs"; statements about a reward come only from the across-seed verdicts.
 * Sentences call a difference whose interval includes zero "not distinguishable". Pure functions.
 * @module
 */
import { type CI, distinguishable, type McNemar, mcnemar, pairedBootstrap } from "./bootstrap.ts";
import { experimentOrder, groupLabel, type RunKey, type Source } from "./table.ts";
import type { EvalCompletion } from "../util/mod.ts";

/** One logged held-out completion (the run folder's `EvalCompletion`). */
export type EvalRecord = EvalCompletion;

/** The evaluation log of one run. */
export interface RunEval extends RunKey {
  /** Every logged record, any order. */
  records: EvalRecord[];
}

/** A paired comparison of held-out outcomes. */
export interface PairedComparison {
  /** Source of both sides. */
  source: Source;
  /** First side: an experiment id. */
  a: string;
  /** Second side: an experiment id, or "base model" for the step-0 evaluation. */
  b: string;
  /** "accuracy" (right/wrong, shown in points) or "judge score" (0–10). */
  metric: "accuracy" | "judge score";
  /** Mean of a − b over the paired problems, with the paired-bootstrap interval; `n` = pairs. */
  diff: CI;
  /** McNemar's exact test (accuracy only). */
  mcnemar?: McNemar;
  /** Seeds whose problems were paired. */
  seeds: number[];
  /** Judge scores on either side that came from the local fallback, and all judge scores. */
  fallback: { count: number; of: number };
}

/** Options of the paired comparisons. */
export interface PairedCompareOptions {
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
}

function outcome(r: EvalRecord): number | undefined {
  if (typeof r.correct === "boolean") return r.correct ? 1 : 0;
  return typeof r.score === "number" && Number.isFinite(r.score) ? r.score : undefined;
}

function atStep(records: readonly EvalRecord[], step: number): EvalRecord[] {
  return records.filter((r) => r.step === step && outcome(r) !== undefined);
}

function steps(records: readonly EvalRecord[]): number[] {
  return [...new Set(records.map((r) => r.step))].sort((x, y) => x - y);
}

interface Pairs {
  a: EvalRecord[];
  b: EvalRecord[];
  strata: number[];
  seeds: number[];
}

function compare(source: Source, a: string, b: string, p: Pairs, opts: PairedCompareOptions) {
  if (!p.a.length) return undefined;
  const accuracy = p.a.every((r) => typeof r.correct === "boolean") &&
    p.b.every((r) => typeof r.correct === "boolean");
  const judged = [...p.a, ...p.b].filter((r) => r.source !== undefined);
  const out: PairedComparison = {
    source,
    a,
    b,
    metric: accuracy ? "accuracy" : "judge score",
    diff: pairedBootstrap(p.a.map((r) => outcome(r)!), p.b.map((r) => outcome(r)!), {
      strata: p.strata,
      seed: opts.seed,
      resamples: opts.resamples,
    }),
    seeds: p.seeds,
    fallback: { count: judged.filter((r) => r.source === "fallback").length, of: judged.length },
  };
  if (accuracy) out.mcnemar = mcnemar(p.a.map((r) => r.correct!), p.b.map((r) => r.correct!));
  return out;
}

function groupsOf(runs: readonly RunEval[]): RunEval[][] {
  const m = new Map<string, RunEval[]>();
  for (const r of runs) {
    const k = `${r.source}\u0000${r.experiment}`;
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(r);
  }
  return [...m.values()].sort((x, y) => experimentOrder(x[0].experiment, y[0].experiment));
}

/**
 * Each experiment's last held-out evaluation against its step-0 evaluation (the base model), paired
 * by problem within each run and pooled over seeds (resampled within seeds).
 */
export function pairedVsBase(runs: readonly RunEval[], opts: PairedCompareOptions = {}): PairedComparison[] {
  const out: PairedComparison[] = [];
  for (const g of groupsOf(runs)) {
    const p: Pairs = { a: [], b: [], strata: [], seeds: [] };
    for (const run of g) {
      const st = steps(run.records);
      if (st.length < 2 || st[0] !== 0) continue;
      const base = new Map(atStep(run.records, 0).map((r) => [r.id, r]));
      const last = atStep(run.records, st[st.length - 1]).filter((r) => base.has(r.id));
      if (!last.length) continue;
      p.seeds.push(run.seed);
      for (const r of last) p.a.push(r), p.b.push(base.get(r.id)!), p.strata.push(run.seed);
    }
    const c = compare(g[0].source, g[0].experiment, "base model", p, opts);
    if (c) out.push(c);
  }
  return out;
}

/**
 * Last held-out evaluations of two experiments on the same problems: runs matched by seed, problems by
 * prompt and gold answer. Default pairs: every two experiments of the same source and metric kind.
 */
export function pairedBetween(
  runs: readonly RunEval[],
  opts: PairedCompareOptions & { pairs?: readonly (readonly [string, string])[] } = {},
): PairedComparison[] {
  const gs = groupsOf(runs);
  const out: PairedComparison[] = [];
  const last = (r: RunEval) => {
    const st = steps(r.records);
    return st.length ? atStep(r.records, st[st.length - 1]) : [];
  };
  const key = (r: EvalRecord) => `${r.prompt}\u0000${r.gold}`;
  for (let i = 0; i < gs.length; i++) {
    for (let j = i + 1; j < gs.length; j++) {
      let [x, y] = [gs[i], gs[j]];
      if (x[0].source !== y[0].source) continue;
      if (opts.pairs) {
        const [ex, ey] = [x[0].experiment, y[0].experiment];
        const hit = opts.pairs.find(([p, q]) => (p === ex && q === ey) || (p === ey && q === ex));
        if (!hit) continue;
        if (hit[0] === ey) [x, y] = [y, x];
      }
      const p: Pairs = { a: [], b: [], strata: [], seeds: [] };
      for (const rx of x) {
        const ry = y.find((r) => r.seed === rx.seed);
        if (!ry) continue;
        const other = new Map(last(ry).map((r) => [key(r), r]));
        const mine = last(rx).filter((r) => other.has(key(r)));
        if (!mine.length) continue;
        p.seeds.push(rx.seed);
        for (const r of mine) p.a.push(r), p.b.push(other.get(key(r))!), p.strata.push(rx.seed);
      }
      if (!p.a.length) continue;
      const kindA = p.a.every((r) => typeof r.correct === "boolean");
      const kindB = p.b.every((r) => typeof r.correct === "boolean");
      if (kindA !== kindB) continue;
      const c = compare(x[0].source, x[0].experiment, y[0].experiment, p, opts);
      if (c) out.push(c);
    }
  }
  return out;
}

function signed(x: number, f: (x: number) => string): string {
  return `${x > 0 ? "+" : x < 0 ? "−" : ""}${f(Math.abs(x))}`;
}

/**
 * One sentence: the difference with its paired interval (and McNemar's p for accuracy), "not
 * distinguishable" when the interval includes zero, and the judge-fallback caveat when any score came
 * from the fallback.
 */
export function pairedSentence(c: PairedComparison): string {
  const pts = c.metric === "accuracy";
  const f = (x: number) => (pts ? (100 * x).toFixed(1) : x.toFixed(2));
  const unit = pts ? " points" : "";
  const a = groupLabel({ source: c.source, experiment: c.a });
  const b = c.b === "base model"
    ? "its base model (step 0)"
    : groupLabel({ source: c.source, experiment: c.b });
  const d = c.diff;
  const seeds = c.seeds.length > 1 ? `, ${c.seeds.length} seeds` : `, seed ${c.seeds[0]}`;
  const test = c.mcnemar
    ? `; McNemar exact p = ${
      c.mcnemar.p < 0.001 ? "< 0.001" : c.mcnemar.p.toFixed(3)
    }, ${c.mcnemar.aOnly} problems gained, ${c.mcnemar.bOnly} lost`
    : "";
  const base = `${a} vs ${b}, held-out ${c.metric} on the same ${d.n} problems${seeds}: ${
    signed(d.estimate, f)
  }${unit} (paired 95% CI ${signed(d.lo, f)} to ${signed(d.hi, f)}${test})`;
  const these = c.seeds.length > 1 ? "these trained runs" : "this trained run";
  const verdict = !distinguishable(d)
    ? "not distinguishable (the interval includes zero)"
    : `${
      d.lo > 0
        ? a
        : c.b === "base model"
        ? "the base model"
        : groupLabel({ source: c.source, experiment: c.b })
    } is ahead`;
  const scope = ` — a per-problem interval, so a statement about ${these}, not about the reward`;
  const caveat = c.fallback.count
    ? `; caveat: ${c.fallback.count} of ${c.fallback.of} judge scores came from the local judge fallback, not Gemini`
    : "";
  return `${base}: ${verdict}${scope}${caveat}.`;
}
