/**
 * Intervals and tests, as pure functions: percentile-bootstrap CIs of a mean and of a difference of
 * two independent groups (not for across-seed statements: over 2–5 seeds a percentile bootstrap is about
 * [min, max] and misses its level — seed_stats.ts has the t intervals the verdicts and statistics use), the
 * **paired** bootstrap of per-example differences (a run against its base
 * model, or two runs on the same held-out problems: one seed already gets an interval), and McNemar's
 * exact test for paired right/wrong outcomes. Randomness only through the seeded {@linkcode Rng}.
 * @module
 */
import { mean, quantileSorted, Rng } from "../util/mod.ts";

/** An estimate with its bootstrap confidence interval. */
export interface CI {
  /** Point estimate (mean, or difference of means). */
  estimate: number;
  /** Lower bound. */
  lo: number;
  /** Upper bound. */
  hi: number;
  /** Number of values (for a difference of groups: the smaller group; paired: the pairs). */
  n: number;
}

/** Options of the bootstrap functions. */
export interface BootstrapOptions {
  /** Rng seed (default 0). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

const EMPTY: CI = { estimate: NaN, lo: NaN, hi: NaN, n: 0 };

function resampleMean(xs: readonly number[], rng: Rng): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[rng.int(xs.length)];
  return s / xs.length;
}

function percentileCI(estimate: number, draws: number[], n: number, level: number): CI {
  draws.sort((a, b) => a - b);
  const a = (1 - level) / 2;
  return { estimate, lo: quantileSorted(draws, a), hi: quantileSorted(draws, 1 - a), n };
}

/** Mean of `values` with a percentile-bootstrap CI. With one value the interval is that value. */
export function bootstrapMeanCI(values: readonly number[], opts: BootstrapOptions = {}): CI {
  if (!values.length) return { ...EMPTY };
  const rng = new Rng(opts.seed ?? 0);
  const draws = Array.from({ length: opts.resamples ?? 2000 }, () => resampleMean(values, rng));
  return percentileCI(mean(values), draws, values.length, opts.level ?? 0.95);
}

/** `mean(a) − mean(b)` with a percentile-bootstrap CI, resampling both groups independently. */
export function bootstrapDiffCI(a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): CI {
  const n = Math.min(a.length, b.length);
  if (!n) return { ...EMPTY };
  const rng = new Rng(opts.seed ?? 0);
  const draws = Array.from(
    { length: opts.resamples ?? 2000 },
    () => resampleMean(a, rng) - resampleMean(b, rng),
  );
  return percentileCI(mean(a) - mean(b), draws, n, opts.level ?? 0.95);
}

/** Options of {@linkcode pairedBootstrap}. */
export interface PairedOptions extends BootstrapOptions {
  /**
   * A stratum per pair (e.g. the seed whose held-out split the problem came from): pairs are resampled
   * within their stratum, so each stratum keeps its size. Default: one stratum.
   */
  strata?: readonly (string | number)[];
}

/**
 * Mean paired difference `mean(a[i] − b[i])` with a percentile-bootstrap CI that resamples pairs (within
 * strata when given). `a` and `b` are per-example outcomes on the same examples, in the same order
 * (1/0 for right/wrong, or scores); `n` is the number of pairs. Throws on different lengths.
 */
export function pairedBootstrap(a: readonly number[], b: readonly number[], opts: PairedOptions = {}): CI {
  if (a.length !== b.length) throw new Error(`pairedBootstrap: ${a.length} vs ${b.length} values`);
  if (opts.strata && opts.strata.length !== a.length) {
    throw new Error(`pairedBootstrap: ${opts.strata.length} strata for ${a.length} pairs`);
  }
  if (!a.length) return { ...EMPTY };
  const d = a.map((x, i) => x - b[i]);
  const groups = new Map<string | number, number[]>();
  d.forEach((x, i) => {
    const k = opts.strata?.[i] ?? 0;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(x);
  });
  const gs = [...groups.values()];
  const rng = new Rng(opts.seed ?? 0);
  const draws = Array.from({ length: opts.resamples ?? 2000 }, () => {
    let s = 0;
    for (const g of gs) s += resampleMean(g, rng) * g.length;
    return s / d.length;
  });
  return percentileCI(mean(d), draws, d.length, opts.level ?? 0.95);
}

/** McNemar's test of two paired right/wrong outcome lists. */
export interface McNemar {
  /** Pairs. */
  n: number;
  /** Right in `a`, wrong in `b`. */
  aOnly: number;
  /** Wrong in `a`, right in `b`. */
  bOnly: number;
  /** Right in both. */
  both: number;
  /** Wrong in both. */
  neither: number;
  /** Exact two-sided p-value (binomial on the discordant pairs; 1 when there are none). */
  p: number;
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/** Exact two-sided binomial p-value of `k` successes out of `n` at probability ½ (McNemar's exact test). */
export function binomialTwoSidedP(k: number, n: number): number {
  if (n <= 0) return 1;
  const m = Math.min(k, n - k);
  let tail = 0;
  for (let i = 0; i <= m; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

/** McNemar's exact test on per-example right/wrong outcomes of `a` and `b` (same examples, same order). */
export function mcnemar(a: readonly boolean[], b: readonly boolean[]): McNemar {
  if (a.length !== b.length) throw new Error(`mcnemar: ${a.length} vs ${b.length} outcomes`);
  let aOnly = 0, bOnly = 0, both = 0, neither = 0;
  a.forEach((x, i) => {
    if (x && b[i]) both++;
    else if (x) aOnly++;
    else if (b[i]) bOnly++;
    else neither++;
  });
  return { n: a.length, aOnly, bOnly, both, neither, p: binomialTwoSidedP(aOnly, aOnly + bOnly) };
}

/** Whether an interval excludes zero (a finite interval lying wholly above or below 0). */
export function distinguishable(ci: Pick<CI, "lo" | "hi">): boolean {
  return Number.isFinite(ci.lo) && Number.isFinite(ci.hi) && (ci.lo > 0 || ci.hi < 0);
}
