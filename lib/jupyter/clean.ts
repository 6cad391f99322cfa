/**
 * Committed notebooks are the source: researchers edit them in JupyterLab or VS Code and save them
 * as ordinary notebooks. {@linkcode cleanNotebookText} strips what running them adds (outputs and
 * execution counts) and keeps everything else, including what Jupyter adds (cell ids, kernelspec,
 * cell metadata). {@linkcode notebookScript} turns the code cells into one TypeScript module so that
 * `deno check` type-checks them ({@linkcode checkNotebookTypes}).
 * @module
 */
import { basename, dirname, join } from "node:path";
import { UserError } from "../util/mod.ts";
import { joinSource, type Notebook, parseNotebook, serializeNotebook, stripOutputs } from "./nbformat.ts";

/** The cleaned text of a notebook, and whether it differed from `text`. */
export interface CleanResult {
  /** The notebook without outputs, serialized as Jupyter writes it. */
  text: string;
  /** Code cells that had outputs or an execution count. */
  dirtyCells: number;
}

/**
 * Strips outputs and execution counts from notebook JSON `text`. Cells, sources and all metadata
 * are kept. A notebook that had none is returned as it was, byte for byte, whatever JSON formatting
 * wrote it; otherwise the result is written as Jupyter writes it (sorted keys, 1-space indent).
 */
export function cleanNotebookText(text: string, options: { file?: string } = {}): CleanResult {
  const nb = parseNotebook(text, options);
  const dirtyCells =
    nb.cells.filter((c) =>
      c.cell_type === "code" && ((c.outputs?.length ?? 0) > 0 || (c.execution_count ?? null) !== null)
    ).length;
  return { text: dirtyCells ? serializeNotebook(stripOutputs(nb)) : text, dirtyCells };
}

/**
 * The code cells of `nb` as one TypeScript module, each cell preceded by a `// cell N` comment (N
 * counts all cells from 1), so a type error points at its cell. Deno's kernel runs the cells as one
 * module scope, which is what this reproduces.
 */
export function notebookScript(nb: Notebook): string {
  const parts: string[] = [];
  nb.cells.forEach((c, i) => {
    if (c.cell_type === "code") parts.push(`// cell ${i + 1}\n${joinSource(c.source)}\n`);
  });
  return parts.join("\n");
}

/** The outcome of {@linkcode checkNotebookTypes}. */
export interface TypeCheckResult {
  /** Whether `deno check` passed. */
  ok: boolean;
  /** What `deno check` printed (colours removed). */
  output: string;
}

/**
 * Type-checks the code cells of the notebook at `path` with `deno check`, from a temporary module
 * beside the notebook (so relative imports resolve as in the kernel, whose working folder is the
 * notebook's), removed afterwards.
 */
export async function checkNotebookTypes(
  path: string,
  options: { deno?: string } = {},
): Promise<TypeCheckResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read notebook (${(e as Error).message})`);
  }
  const nb = parseNotebook(text, { file: path });
  const tmp = join(
    dirname(path),
    `.typecheck_${basename(path, ".ipynb")}_${crypto.randomUUID().slice(0, 8)}.ts`,
  );
  await Deno.writeTextFile(tmp, notebookScript(nb));
  try {
    const out = await new Deno.Command(options.deno ?? Deno.execPath(), {
      args: ["check", "--quiet", tmp],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    // deno-lint-ignore no-control-regex
    const output = (dec.decode(out.stdout) + dec.decode(out.stderr)).replace(/\x1b\[[0-9;]*m/g, "")
      .replaceAll(tmp, path);
    return { ok: out.success, output };
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}
