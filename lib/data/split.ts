/**
 * Deterministic held-out splits: a seeded shuffle picks which rows are held out; both parts keep
 * the rows' original order, so the same seed always gives the same split.
 * @module
 */
import { ensure, Rng } from "../util/mod.ts";

/** Options of {@linkcode splitHeldOut}. */
export interface SplitHeldOutOptions {
  /** RNG seed; equal seeds give equal splits. */
  seed: number;
  /** How many rows to hold out: an integer count (0 … rows.length) or a fraction in (0, 1). */
  heldOut: number;
}

/**
 * Splits `rows` into `train` and `heldOut` parts. `heldOut` is a count (integer) or a fraction in
 * (0, 1) rounded to the nearest count. Each part keeps the original row order.
 */
export function splitHeldOut<T>(
  rows: readonly T[],
  options: SplitHeldOutOptions,
): { train: T[]; heldOut: T[] } {
  const h = options.heldOut;
  ensure(
    Number.isFinite(h) && h >= 0,
    `splitHeldOut: heldOut must be a count ≥ 0 or a fraction in (0, 1), got ${h}`,
  );
  ensure(
    Number.isInteger(h) || h < 1,
    `splitHeldOut: heldOut ${h} is neither an integer count nor a fraction < 1`,
  );
  const k = Number.isInteger(h) ? h : Math.round(h * rows.length);
  ensure(k <= rows.length, `splitHeldOut: heldOut ${h} is more than the ${rows.length} rows`);
  const order = new Rng(options.seed).shuffle(rows.map((_, i) => i));
  const held = new Set(order.slice(0, k));
  const train: T[] = [], heldOut: T[] = [];
  rows.forEach((row, i) => (held.has(i) ? heldOut : train).push(row));
  return { train, heldOut };
}
