/**
 * Binomial confidence intervals for accuracies: the Wilson score interval (what lm-eval-harness-style reports
 * need for a share of n problems; unlike the normal approximation it stays inside [0, 1] and behaves at 0 % and
 * 100 %).
 * @module
 */

/** A proportion with its interval. */
export interface Interval {
  /** Lower end. */
  low: number;
  /** Upper end. */
  high: number;
}

/** Options of {@linkcode wilsonInterval}. */
export interface WilsonOptions {
  /** Normal quantile (default 1.959964: a two-sided 95 % interval). */
  z?: number;
}

/**
 * The Wilson score interval of `successes` out of `n` trials; `successes` may be fractional (a mean of
 * per-problem shares times n). `n = 0` gives [0, 1].
 */
export function wilsonInterval(successes: number, n: number, options: WilsonOptions = {}): Interval {
  if (!(n > 0)) return { low: 0, high: 1 };
  const z = options.z ?? 1.959964;
  const p = Math.min(1, Math.max(0, successes / n));
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z / den) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: p === 0 ? 0 : Math.max(0, centre - half), high: p === 1 ? 1 : Math.min(1, centre + half) };
}
