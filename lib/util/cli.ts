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

/** A parameter value from the command line: JSON when it parses (numbers, booleans, arrays, quoted strings), else the raw string. */
export function parseJsonOrString(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Splits one `key=value` item at its first `=` (the key trimmed) and parses the value with
 * {@linkcode parseJsonOrString}. No `=` or an empty key → a one-line {@linkcode UserError} that names
 * `options.flag` (default `--param`) and the item.
 */
export function parseKeyValue(
  item: string,
  options: { flag?: string } = {},
): { key: string; value: unknown } {
  const eq = item.indexOf("=");
  const key = eq < 0 ? "" : item.slice(0, eq).trim();
  if (key === "") {
    throw new UserError(`${options.flag ?? "--param"} ${JSON.stringify(item)}: expected key=value`);
  }
  return { key, value: parseJsonOrString(item.slice(eq + 1)) };
}

/**
 * Parses `key=value` items into an object (later items win). `options.checkKey` may reject a key by
 * throwing a {@linkcode UserError}; it gets the key and the whole item.
 */
export function parseKeyValues(
  items: readonly string[],
  options: { flag?: string; checkKey?: (key: string, item: string) => void } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const { key, value } = parseKeyValue(item, options);
    options.checkKey?.(key, item);
    out[key] = value;
  }
  return out;
}
