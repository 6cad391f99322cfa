/**
 * Test assertions (the project cannot reach JSR, so this stands in for `@std/assert`).
 * @module
 */
import { deepStrictEqual } from "node:assert";

/** Fails unless `actual` deep-equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, options: { msg?: string } = {}): void {
  if (options.msg === undefined) deepStrictEqual(actual, expected);
  else deepStrictEqual(actual, expected, options.msg);
}

/** Fails unless `cond` is truthy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Fails unless |actual − expected| ≤ `tol` (default 1e-7). */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  options: { tol?: number; msg?: string } = {},
): void {
  const tol = options.tol ?? 1e-7;
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(options.msg ?? `expected ${expected} ± ${tol}, got ${actual}`);
  }
}

/** What a thrown error must be: of class `cls`, with `includes` in its message (each when given). */
export interface ErrorExpectation {
  // deno-lint-ignore no-explicit-any
  cls?: new (...args: any[]) => Error;
  includes?: string;
}

/** Fails unless `fn` throws an error whose message includes `includes` (and is of `cls` when given). */
export function assertThrows(fn: () => unknown, expect: ErrorExpectation = {}): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, expect);
    return e as Error;
  }
  throw new Error("expected function to throw");
}

/** Async {@linkcode assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  expect: ErrorExpectation = {},
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, expect);
    return e as Error;
  }
  throw new Error("expected promise to reject");
}

function checkError(e: unknown, { cls, includes }: ErrorExpectation): void {
  if (!(e instanceof Error)) throw new Error(`expected an Error, got ${String(e)}`);
  const err: Error = e;
  if (cls && !(err instanceof cls)) throw new Error(`expected ${cls.name}, got ${String(e)}`);
  if (includes && !err.message.includes(includes)) {
    throw new Error(`expected message to include "${includes}", got "${err.message}"`);
  }
}
