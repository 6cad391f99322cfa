/**
 * Command-line flags for the `deno task` entry points: `node:util` parseArgs with its errors turned into
 * one-line {@linkcode UserError}s (unknown flag, missing value).
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UserError } from "./errors.ts";

/** Parses `args` against `options`; positionals are allowed only when `positionals` is set. */
export function parseFlags<T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
  config: { positionals?: boolean } = {},
): { values: ReturnType<typeof parseArgs<{ options: T }>>["values"]; positionals: string[] } {
  try {
    const r = parseArgs({ args, options, allowPositionals: config.positionals ?? false, strict: true });
    return { values: { ...r.values } as never, positionals: r.positionals };
  } catch (e) {
    throw new UserError((e as Error).message.split("\n")[0]);
  }
}

/** A non-negative finite number from flag `name`, else a one-line error naming it. */
export function numberFlag(value: string | undefined, name: string): number {
  const x = Number(value);
  if (value === undefined || value === "" || !Number.isFinite(x) || x < 0) {
    throw new UserError(`--${name} must be a non-negative number, got "${value}"`);
  }
  return x;
}
