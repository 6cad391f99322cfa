/**
 * Papermill-style parameters: the first code cell tagged `parameters` declares defaults with
 * `let key = …`; overrides are injected as a new code cell right after it, tagged
 * `injected-parameters`, holding plain assignments (`key = value;`). Unknown keys, keys declared
 * with `const`, and parameters for a notebook without a parameters cell are {@linkcode UserError}s,
 * raised before any kernel starts.
 * @module
 */
import { parseKeyValues, UserError } from "../util/mod.ts";
import { type Cell, cellTags, joinSource, type Notebook, splitLines } from "./nbformat.ts";

/** Tag of the cell holding parameter defaults. */
export const PARAMETERS_TAG = "parameters";
/** Tag of the cell the runner injects. */
export const INJECTED_TAG = "injected-parameters";

/**
 * Parses `key=value` strings (from `--param`) into an object with the shared parser (JSON values when
 * they parse); a key that is not a JavaScript identifier → {@linkcode UserError}.
 */
export function parseParamArgs(args: readonly string[]): Record<string, unknown> {
  return parseKeyValues(args, {
    checkKey(key, item) {
      if (!/^[A-Za-z_$][\w$]*$/.test(key)) {
        throw new UserError(`--param ${JSON.stringify(item)}: "${key}" is not a valid identifier`);
      }
    },
  });
}

/**
 * Names declared at top level in `source` with `let`/`const`/`var` (including `let a = 1, b = 2`),
 * mapped to their keyword. Destructuring patterns are not reported.
 */
export function declaredParameters(source: string): Map<string, "let" | "const" | "var"> {
  const found = new Map<string, "let" | "const" | "var">();
  const re = /^[ \t]*(?:export[ \t]+)?(let|const|var)[ \t]+/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const kind = m[1] as "let" | "const" | "var";
    let i = m.index + m[0].length, depth = 0, expectName = true;
    while (i < source.length) {
      const c = source[i];
      if (expectName) {
        const id = /^[A-Za-z_$][\w$]*/.exec(source.slice(i));
        if (id) {
          if (!found.has(id[0])) found.set(id[0], kind);
          i += id[0].length;
        }
        expectName = false;
        continue;
      }
      if (c === '"' || c === "'" || c === "`") {
        i++;
        while (i < source.length && source[i] !== c) i += source[i] === "\\" ? 2 : 1;
      } else if (c === "/" && source[i + 1] === "/") {
        while (i < source.length && source[i] !== "\n") i++;
        continue;
      } else if (c === "/" && source[i + 1] === "*") {
        const end = source.indexOf("*/", i + 2);
        i = end < 0 ? source.length : end + 1;
      } else if ("([{".includes(c)) depth++;
      else if (")]}".includes(c)) depth--;
      else if (depth === 0 && (c === ";" || c === "\n")) {
        // A declaration continues onto the next line only after a trailing comma.
        if (c === ";" || !/,\s*$/.test(source.slice(m.index, i))) break;
      } else if (depth === 0 && c === ",") {
        i++;
        while (/\s/.test(source[i] ?? "")) i++;
        expectName = true;
        continue;
      }
      i++;
    }
  }
  return found;
}

/** Index of the first code cell tagged `parameters`, or -1. */
export function findParametersCell(nb: Notebook): number {
  return nb.cells.findIndex((c) => c.cell_type === "code" && cellTags(c).includes(PARAMETERS_TAG));
}

/** A TypeScript literal for a parameter value. */
export function toTsLiteral(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (typeof value === "bigint") return `${value}n`;
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new UserError(`parameter value ${String(value)} cannot be written as a literal`);
  }
  return json;
}

/**
 * A copy of `nb` with `params` injected after the parameters cell (an older injected cell, e.g.
 * from re-running an executed notebook, is removed first). With no params the notebook is only
 * copied. Throws a {@linkcode UserError} naming `file` for unknown or `const` parameters, or when
 * params are given and no cell is tagged `parameters`.
 */
export function injectParameters(
  nb: Notebook,
  params: Record<string, unknown>,
  options: { file?: string } = {},
): Notebook {
  const file = options.file ?? "notebook";
  const copy: Notebook = structuredClone(nb);
  copy.cells = copy.cells.filter((c) => !cellTags(c).includes(INJECTED_TAG));
  const keys = Object.keys(params);
  if (keys.length === 0) return copy;
  const at = findParametersCell(copy);
  if (at < 0) {
    throw new UserError(
      `${file}: got parameter(s) ${keys.join(", ")} but no code cell is tagged "${PARAMETERS_TAG}"`,
    );
  }
  const declared = declaredParameters(joinSource(copy.cells[at].source));
  const known = [...declared.keys()];
  for (const key of keys) {
    const kind = declared.get(key);
    if (!kind) {
      throw new UserError(
        `${file}: unknown parameter "${key}"; the parameters cell declares: ${
          known.join(", ") || "(nothing)"
        }`,
      );
    }
    if (kind === "const") {
      throw new UserError(
        `${file}: parameter "${key}" is declared with const in the parameters cell; declare it with let`,
      );
    }
  }
  const lines = [
    "// Parameters injected by the notebook runner",
    ...keys.map((k) => `${k} = ${toTsLiteral(params[k])};`),
  ];
  const cell: Cell = {
    cell_type: "code",
    id: uniqueId(copy, INJECTED_TAG),
    metadata: { tags: [INJECTED_TAG] },
    source: splitLines(lines.join("\n")),
    execution_count: null,
    outputs: [],
  };
  copy.cells.splice(at + 1, 0, cell);
  return copy;
}

function uniqueId(nb: Notebook, base: string): string {
  const ids = new Set(nb.cells.map((c) => c.id));
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
  return id;
}
