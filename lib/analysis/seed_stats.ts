/**
 * Across-seed intervals that keep their level at 2–10 seeds: Student's t on per-seed values (one arm),
 * on per-seed **paired** differences (two arms run on the same seeds, which share the seed's held-out
 * split and data order), or Welch's t (two arms without enough shared seeds). Exact under normal
 * per-seed values, for any number of seeds ≥ 2; a percentile bootstrap of 2–3 values is not (its
 * interval is about [min, max]). Pure functions; no randomness.
 * @module
 */
import { mean, sampleStd } from "../util/mod.ts";
import type { CI } from "./bootstrap.ts";

/** How an across-seed interval was computed. */
export type SeedMethod = "one-sample t" | "paired t" | "Welch t";

/** A {@linkcode CI} across seeds, with its method and degrees of freedom. */
export interface SeedCI extends CI {
  /** How it was computed. */
  method: SeedMethod;
  /** Degrees of freedom of the t distribution (NaN without an interval). */
  df: number;
  /** Seeds behind it: paired → the shared seeds; otherwise the seeds of the first arm. */
  seeds: number[];
  /** Seeds of the second arm (Welch only). */
  seedsB?: number[];
}

/** One per-seed value of an arm. */
export interface SeedValue {
  /** The seed. */
  seed: number;
  /** The value (e.g. a held-out gain). */
  value: number;
}

/** Options of the across-seed intervals. */
export interface SeedCIOptions {
  /** Two-sided confidence level (default 0.95). */
  level?: number;
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to about 1e-15 for x > 0.
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d, c = 1 + aa / c;
    if (Math.abs(d) < tiny) d = tiny;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d, h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d, c = 1 + aa / c;
    if (Math.abs(d) < tiny) d = tiny;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, { a, b }: { a: number; b: number }): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return Math.exp(lnFront) * betaCf(a, b, x) / a;
  return 1 - Math.exp(lnFront) * betaCf(b, a, 1 - x) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (df > 0, not necessarily an integer). */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), { a: df / 2, b: 0.5 });
  return t >= 0 ? 1 - tail : tail;
}

/** The `p` quantile of Student's t with `df` degrees of freedom (bisection on the CDF, 1e-12). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0, hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const none = (estimate: number, n: number, method: SeedMethod, seeds: number[]): SeedCI => ({
  estimate,
  lo: NaN,
  hi: NaN,
  n,
  method,
  df: NaN,
  seeds,
});

/** Mean of per-seed values with a Student t interval (n − 1 df); fewer than two seeds: no interval. */
export function tMeanCI(values: readonly SeedValue[], options: SeedCIOptions = {}): SeedCI {
  const xs = values.map((v) => v.value), n = xs.length, seeds = values.map((v) => v.seed);
  if (!n) return none(NaN, 0, "one-sample t", seeds);
  const m = mean(xs);
  if (n < 2) return none(m, n, "one-sample t", seeds);
  const half = studentTQuantile(1 - (1 - (options.level ?? 0.95)) / 2, n - 1) * sampleStd(xs) / Math.sqrt(n);
  return { estimate: m, lo: m - half, hi: m + half, n, method: "one-sample t", df: n - 1, seeds };
}

/**
 * `mean(a) − mean(b)` with Welch's t interval (Welch–Satterthwaite df). `n` is the smaller arm; either
 * arm with fewer than two seeds gives no interval.
 */
export function welchDiffCI(
  a: readonly SeedValue[],
  b: readonly SeedValue[],
  options: SeedCIOptions = {},
): SeedCI {
  const xa = a.map((v) => v.value), xb = b.map((v) => v.value);
  const seeds = a.map((v) => v.seed), seedsB = b.map((v) => v.seed);
  const n = Math.min(xa.length, xb.length);
  if (!n) return { ...none(NaN, 0, "Welch t", seeds), seedsB };
  const est = mean(xa) - mean(xb);
  if (n < 2) return { ...none(est, n, "Welch t", seeds), seedsB };
  const va = sampleStd(xa) ** 2 / xa.length, vb = sampleStd(xb) ** 2 / xb.length;
  const se = Math.sqrt(va + vb);
  const df = se > 0 ? (va + vb) ** 2 / (va ** 2 / (xa.length - 1) + vb ** 2 / (xb.length - 1)) : n - 1;
  const half = studentTQuantile(1 - (1 - (options.level ?? 0.95)) / 2, df) * se;
  return { estimate: est, lo: est - half, hi: est + half, n, method: "Welch t", df, seeds, seedsB };
}

/**
 * `a − b` across seeds: a paired t interval on the per-seed differences of the seeds both arms ran
 * (they share each seed's held-out split and data order) when at least two are shared, else Welch's t
 * on all seeds of each arm.
 */
export function seedDiffCI(
  a: readonly SeedValue[],
  b: readonly SeedValue[],
  options: SeedCIOptions = {},
): SeedCI {
  const bySeed = new Map(b.map((v) => [v.seed, v.value]));
  const shared = a.filter((v) => bySeed.has(v.seed)).map((v) => ({
    seed: v.seed,
    value: v.value - bySeed.get(v.seed)!,
  }));
  if (shared.length < 2) return welchDiffCI(a, b, options);
  return { ...tMeanCI(shared, options), method: "paired t" };
}
