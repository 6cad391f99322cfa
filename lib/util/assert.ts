/**
 * Test assertions (the project cannot reach JSR, so this stands in for `@std/assert`).
 * @module
 */
import { deepStrictEqual } from "node:assert";

/** Fails unless `actual` deep-equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (msg === undefined) deepStrictEqual(actual, expected);
  else deepStrictEqual(actual, expected, msg);
}

/** Fails unless `cond` is truthy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Fails unless |actual − expected| ≤ tol. */
export function assertAlmostEquals(actual: number, expected: number, tol = 1e-7, msg?: string): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(msg ?? `expected ${expected} ± ${tol}, got ${actual}`);
  }
}

/** Fails unless `fn` throws an error whose message includes `includes` (and is of `cls` when given). */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls?: new (...args: any[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, cls, includes);
    return e as Error;
  }
  throw new Error("expected function to throw");
}

/** Async {@linkcode assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls?: new (...args: any[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, cls, includes);
    return e as Error;
  }
  throw new Error("expected promise to reject");
}

// deno-lint-ignore no-explicit-any
function checkError(e: unknown, cls?: new (...args: any[]) => Error, includes?: string): void {
  if (!(e instanceof Error)) throw new Error(`expected an Error, got ${String(e)}`);
  const err: Error = e;
  if (cls && !(err instanceof cls)) throw new Error(`expected ${cls.name}, got ${String(e)}`);
  if (includes && !err.message.includes(includes)) {
    throw new Error(`expected message to include "${includes}", got "${err.message}"`);
  }
}
