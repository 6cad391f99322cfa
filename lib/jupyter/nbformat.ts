/**
 * nbformat 4 notebooks: types, reading with validation (one-line {@linkcode UserError} naming the
 * file and field), atomic writing in Jupyter's layout, {@linkcode stripOutputs} for committing, and
 * {@linkcode makeNotebook}, a tiny builder for nbformat 4.5 notebooks with the Deno kernelspec.
 * @module
 */
import { type MimeBundle, UserError, writeFileAtomic } from "../util/mod.ts";

/** nbformat's multiline string: one string or a list of lines (each keeping its `\n`). */
export type MultilineString = string | string[];

/** A code cell output (nbformat 4). */
export type Output =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: MultilineString }
  | { output_type: "display_data"; data: MimeBundle; metadata: Record<string, unknown> }
  | {
    output_type: "execute_result";
    data: MimeBundle;
    metadata: Record<string, unknown>;
    execution_count: number | null;
  }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

/** A notebook cell (nbformat 4). */
export interface Cell {
  /** `code`, `markdown` or `raw`. */
  cell_type: "code" | "markdown" | "raw";
  /** Cell id (required from nbformat 4.5). */
  id?: string;
  /** Cell metadata; `tags` is a list of strings. */
  metadata: { tags?: string[]; [key: string]: unknown };
  /** The cell's text. */
  source: MultilineString;
  /** Outputs (code cells only). */
  outputs?: Output[];
  /** Execution counter (code cells only). */
  execution_count?: number | null;
  /** Attachments (markdown/raw cells). */
  attachments?: Record<string, unknown>;
}

/** An nbformat 4 notebook. */
export interface Notebook {
  /** Notebook metadata (kernelspec, language_info, …). */
  metadata: Record<string, unknown>;
  /** Always 4. */
  nbformat: 4;
  /** Minor version. */
  nbformat_minor: number;
  /** The cells in order. */
  cells: Cell[];
}

/** The kernelspec of Deno's Jupyter kernel. */
export const DENO_KERNELSPEC = { display_name: "Deno", language: "typescript", name: "deno" } as const;

/** The `language_info` the Deno kernel reports. */
export const DENO_LANGUAGE_INFO = {
  codemirror_mode: "typescript",
  file_extension: ".ts",
  mimetype: "text/x.typescript",
  name: "typescript",
  nbconvert_exporter: "script",
  pygments_lexer: "typescript",
} as const;

/** Joins a multiline string into one string. */
export function joinSource(s: MultilineString | undefined): string {
  return Array.isArray(s) ? s.join("") : (s ?? "");
}

/** Splits text into lines that keep their `\n`, as Jupyter stores sources and text outputs. */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** The tags of `cell` (empty when none). */
export function cellTags(cell: Cell): string[] {
  return Array.isArray(cell.metadata?.tags) ? cell.metadata.tags : [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isMultiline(v: unknown): boolean {
  return typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"));
}

/**
 * Checks that `value` is an nbformat 4 notebook and returns it typed. Throws a {@linkcode UserError}
 * `<file>: <field> …` for the first problem found.
 */
export function validateNotebook(value: unknown, options: { file?: string } = {}): Notebook {
  const file = options.file ?? "notebook";
  const bad = (what: string) => new UserError(`${file}: ${what}`);
  if (!isObject(value)) throw bad("not a JSON object (is this a notebook?)");
  if (value.nbformat !== 4) {
    throw bad(`nbformat is ${JSON.stringify(value.nbformat)}, only nbformat 4 notebooks are supported`);
  }
  if (typeof value.nbformat_minor !== "number") throw bad("nbformat_minor is missing or not a number");
  if (!isObject(value.metadata)) throw bad("metadata is missing or not an object");
  if (!Array.isArray(value.cells)) throw bad("cells is missing or not an array");
  value.cells.forEach((cell: unknown, i: number) => {
    const at = `cells[${i}]`;
    if (!isObject(cell)) throw bad(`${at} is not an object`);
    if (!["code", "markdown", "raw"].includes(cell.cell_type as string)) {
      throw bad(`${at}.cell_type is ${JSON.stringify(cell.cell_type)}, expected code, markdown or raw`);
    }
    if (!isMultiline(cell.source)) throw bad(`${at}.source must be a string or an array of strings`);
    if (cell.metadata !== undefined && !isObject(cell.metadata)) throw bad(`${at}.metadata is not an object`);
    const tags = (cell.metadata as Record<string, unknown> | undefined)?.tags;
    if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === "string"))) {
      throw bad(`${at}.metadata.tags must be an array of strings`);
    }
    if (cell.cell_type === "code") {
      if (cell.outputs !== undefined && !Array.isArray(cell.outputs)) {
        throw bad(`${at}.outputs is not an array`);
      }
      (cell.outputs as unknown[] | undefined)?.forEach((o, j) => {
        if (!isObject(o) || typeof o.output_type !== "string") {
          throw bad(`${at}.outputs[${j}] has no output_type`);
        }
      });
      const ec = cell.execution_count;
      if (ec !== undefined && ec !== null && typeof ec !== "number") {
        throw bad(`${at}.execution_count must be a number or null`);
      }
    }
  });
  for (const cell of value.cells as Record<string, unknown>[]) {
    cell.metadata ??= {};
    if (cell.cell_type === "code") {
      cell.outputs ??= [];
      cell.execution_count ??= null;
    }
  }
  return value as unknown as Notebook;
}

/** Parses notebook JSON text; bad JSON or a non-nbformat-4 document → {@linkcode UserError} naming `file`. */
export function parseNotebook(text: string, options: { file?: string } = {}): Notebook {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${options.file ?? "notebook"}: not valid JSON (${(e as Error).message})`);
  }
  return validateNotebook(value, options);
}

/** Reads and validates the notebook at `path` (a missing file is a {@linkcode UserError} too). */
export async function readNotebook(path: string): Promise<Notebook> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${path}: notebook not found`);
    throw new UserError(`${path}: cannot read notebook (${(e as Error).message})`);
  }
  return parseNotebook(text, { file: path });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
}

/** Serializes a notebook as Jupyter does (sorted keys, 1-space indent, trailing newline). */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(sortKeys(nb), null, 1) + "\n";
}

/** Writes `nb` to `path` atomically (parent folders created). */
export async function writeNotebook(path: string, nb: Notebook): Promise<void> {
  await writeFileAtomic(path, serializeNotebook(nb));
}

/**
 * A copy of `nb` with every code cell's outputs emptied and execution_count set to null, ready to
 * commit. Cells, sources and metadata are kept as they are.
 */
export function stripOutputs(nb: Notebook): Notebook {
  const copy: Notebook = structuredClone(nb);
  for (const cell of copy.cells) {
    if (cell.cell_type !== "code") continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
  return copy;
}

/** One cell for {@linkcode makeNotebook}. */
export interface CellSpec {
  /** Markdown or code. */
  type: "markdown" | "code";
  /** The cell's text. */
  source: string;
  /** Cell tags, e.g. `["parameters"]`. */
  tags?: string[];
}

/**
 * Builds a valid nbformat 4.5 notebook for the Deno kernel from cell specs. Cell ids are
 * deterministic (`cell-00`, `cell-01`, …) so regenerating a notebook gives a stable diff.
 */
export function makeNotebook(
  cells: CellSpec[],
  options: { metadata?: Record<string, unknown> } = {},
): Notebook {
  const width = Math.max(2, String(cells.length - 1).length);
  return {
    metadata: {
      kernelspec: { ...DENO_KERNELSPEC },
      language_info: { ...DENO_LANGUAGE_INFO },
      ...options.metadata,
    },
    nbformat: 4,
    nbformat_minor: 5,
    cells: cells.map((spec, i): Cell => {
      if (spec.type !== "code" && spec.type !== "markdown") {
        throw new UserError(
          `makeNotebook: cells[${i}].type is ${JSON.stringify(spec.type)}, expected code or markdown`,
        );
      }
      const base = {
        id: `cell-${String(i).padStart(width, "0")}`,
        metadata: spec.tags?.length ? { tags: [...spec.tags] } : {},
        source: splitLines(spec.source),
      };
      return spec.type === "code"
        ? { cell_type: "code", ...base, execution_count: null, outputs: [] }
        : { cell_type: "markdown", ...base };
    }),
  };
}
