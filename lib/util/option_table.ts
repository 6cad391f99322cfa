/**
 * Options declared once: each option is one {@linkcode OptionSpec} — its type (for `--help`), its
 * default, its help text and its value check — built with {@linkcode opt}. A table of specs gives the
 * TypeScript type of the values ({@linkcode OptionValues}), the defaults, `--help` and validation,
 * the way TRL's `GRPOConfig` dataclass declares each field once with its help metadata.
 * @module
 */
import { UserError } from "./errors.ts";

/** One option: how `--help` names its type, its default, its help text, and its value check. */
export interface OptionSpec<T> {
  /** The type as `--help` shows it, e.g. `integer`, `auto|cuda|cpu`, `number|null`. */
  readonly type: string;
  /** The default value. */
  readonly default: T;
  /** One or two sentences for `--help` and the documentation. */
  readonly help: string;
  /** Throws a one-line UserError naming `name` when `value` is not a valid value of this option. */
  readonly check: (name: string, value: unknown) => void;
}

/** The value type of an option spec. */
export type OptionValue<S> = S extends OptionSpec<infer T> ? T : never;

/** The value types of a table of option specs. */
export type OptionValues<O> = { -readonly [K in keyof O]: OptionValue<O[K]> };

/** A one-line UserError: `option NAME = VALUE: WHY`. */
export function badOption(name: string, value: unknown, why: string): UserError {
  return new UserError(`option ${name} = ${JSON.stringify(value)}: ${why}`);
}

/** Bounds of a number option. */
export interface Range {
  /** Lower bound. */
  min?: number;
  /** Upper bound. */
  max?: number;
  /** The lower bound itself is not allowed. */
  minExcl?: boolean;
  /** The upper bound itself is not allowed. */
  maxExcl?: boolean;
}

function checkNumber(name: string, v: unknown, r: Range & { integer?: boolean }): void {
  if (r.integer) {
    if (typeof v !== "number" || !Number.isInteger(v)) throw badOption(name, v, "expected an integer");
  } else if (typeof v !== "number" || !Number.isFinite(v)) {
    throw badOption(name, v, "expected a finite number");
  }
  if (r.min !== undefined && (r.minExcl ? v <= r.min : v < r.min)) {
    throw badOption(name, v, `must be ${r.minExcl ? ">" : "≥"} ${r.min}`);
  }
  if (r.max !== undefined && (r.maxExcl ? v >= r.max : v > r.max)) {
    throw badOption(name, v, `must be ${r.maxExcl ? "<" : "≤"} ${r.max}`);
  }
}

function checkString(name: string, v: unknown): void {
  if (typeof v !== "string" || !v.trim()) throw badOption(name, v, "expected a non-empty string");
}

function orNull<T>(spec: OptionSpec<T>, def: T | null): OptionSpec<T | null> {
  return {
    type: `${spec.type}|null`,
    default: def,
    help: spec.help,
    check: (name, v) => (v === null ? undefined : spec.check(name, v)),
  };
}

const spec = <T>(type: string, def: T, help: string, check: (n: string, v: unknown) => void): OptionSpec<T> =>
  Object.freeze({ type, default: def, help, check });

/** Builders of option specs: each takes the default, the help text and the constraints. */
export const opt = {
  /** An integer, `≥ min` when given. */
  int: (def: number, help: string, r: Range = {}): OptionSpec<number> =>
    spec("integer", def, help, (n, v) => checkNumber(n, v, { ...r, integer: true })),
  /** An integer or null. */
  intOrNull: (def: number | null, help: string, r: Range = {}): OptionSpec<number | null> =>
    orNull(opt.int(0, help, r), def),
  /** A finite number within the range. */
  num: (def: number, help: string, r: Range = {}): OptionSpec<number> =>
    spec("number", def, help, (n, v) => checkNumber(n, v, r)),
  /** A finite number within the range, or null. */
  numOrNull: (def: number | null, help: string, r: Range = {}): OptionSpec<number | null> =>
    orNull(opt.num(0, help, r), def),
  /** A boolean. */
  bool: (def: boolean, help: string): OptionSpec<boolean> =>
    spec("boolean", def, help, (n, v) => {
      if (typeof v !== "boolean") throw badOption(n, v, "expected true or false");
    }),
  /** A non-empty string. */
  str: (def: string, help: string, type = "string"): OptionSpec<string> => spec(type, def, help, checkString),
  /** A non-empty string or null. */
  strOrNull: (def: string | null, help: string, type = "string"): OptionSpec<string | null> =>
    orNull(opt.str("", help, type), def),
  /** One of `choices`. */
  choice: <C extends string>(choices: readonly C[], def: C, help: string): OptionSpec<C> =>
    spec(choices.join("|"), def, help, (n, v) => {
      if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) {
        throw badOption(n, v, `unknown value; expected one of ${choices.join(", ")}`);
      }
    }),
  /** A non-empty list of distinct strings (of `choices` when given; `what` names an item in messages). */
  list: <C extends string = string>(
    def: NoInfer<C>[],
    help: string,
    o: { choices?: readonly C[]; what?: string } = {},
  ): OptionSpec<C[]> =>
    spec("string[]", def, help, (n, v) => {
      const what = o.what ?? "name";
      if (!Array.isArray(v) || v.length === 0) throw badOption(n, v, `expected a non-empty list of ${what}s`);
      for (const x of v) {
        if (typeof x !== "string" || (o.choices && !(o.choices as readonly string[]).includes(x))) {
          throw badOption(
            n,
            v,
            `unknown ${what} ${JSON.stringify(x)}${
              o.choices ? `; expected some of ${o.choices.join(", ")}` : ""
            }`,
          );
        }
      }
      if (new Set(v).size !== v.length) throw badOption(n, v, `lists a ${what} twice`);
    }),
  /** A list of finite numbers, or null. */
  numListOrNull: (def: number[] | null, help: string): OptionSpec<number[] | null> =>
    spec("number[]|null", def, help, (n, v) => {
      if (v === null) return;
      if (!Array.isArray(v)) throw badOption(n, v, "expected a list or null");
      for (const w of v) {
        if (typeof w !== "number" || !Number.isFinite(w)) {
          throw badOption(n, v, `${w} is not a finite number`);
        }
      }
    }),
};

/** The defaults of a table of specs (deep copies). */
export function optionDefaults<O extends Record<string, OptionSpec<unknown>>>(table: O): OptionValues<O> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(table)) out[k] = structuredClone(s.default);
  return out as OptionValues<O>;
}

/** Checks every value of `values` against its spec in `table` (in table order). */
export function checkOptionValues(
  table: Record<string, OptionSpec<unknown>>,
  values: Record<string, unknown>,
): void {
  for (const [k, s] of Object.entries(table)) s.check(k, values[k]);
}

/** `--help` lines: name, type, default (from `defaults` when given) and help, one option per entry. */
export function formatOptionHelp(
  table: Record<string, OptionSpec<unknown>>,
  options: { defaults?: Record<string, unknown>; width?: number } = {},
): string {
  const w = options.width ?? 30;
  return Object.entries(table).map(([name, s]) => {
    const def = options.defaults && name in options.defaults ? options.defaults[name] : s.default;
    return `  ${name.padEnd(w)} ${s.type.padEnd(24)} default ${JSON.stringify(def)}\n      ${s.help}`;
  }).join("\n");
}
