/**
 * `deno task nb-clean [--check] [NOTEBOOK …]`: strips outputs and execution counts, in place, from
 * the given notebooks (default: every `notebooks/*.ipynb`), keeping cell ids, kernelspec and all
 * other metadata. `--check` changes nothing and exits 1 naming each notebook that still has outputs
 * (CI runs it). A notebook without outputs is never rewritten, whatever JSON formatting saved it.
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cleanNotebookText } from "../lib/jupyter/mod.ts";
import { runMain, UserError, writeFileAtomic } from "../lib/util/mod.ts";

const USAGE = "usage: deno task nb-clean [--check] [NOTEBOOK.ipynb …]";

/** The committed notebooks. */
export function defaultNotebooks(): string[] {
  const dir = fileURLToPath(new URL("../notebooks/", import.meta.url));
  return [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".ipynb")).map((e) =>
    join(dir, e.name)
  ).sort();
}

/** Cleans (or, with `check`, only inspects) each notebook; returns the ones that had outputs. */
export async function nbClean(
  paths: readonly string[],
  options: { check?: boolean } = {},
): Promise<string[]> {
  const dirty: string[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      throw new UserError(`${path}: cannot read notebook (${(e as Error).message})`);
    }
    const r = cleanNotebookText(text, { file: path });
    if (!r.dirtyCells) continue;
    dirty.push(path);
    if (!options.check) await writeFileAtomic(path, r.text);
    console.log(`${options.check ? "has outputs" : "cleaned"}: ${path} (${r.dirtyCells} code cell(s))`);
  }
  return dirty;
}

if (import.meta.main) {
  await runMain(async () => {
    let parsed;
    try {
      parsed = parseArgs({
        args: Deno.args,
        allowPositionals: true,
        options: { check: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      });
    } catch (e) {
      throw new UserError(`${(e as Error).message}; ${USAGE}`);
    }
    if (parsed.values.help) return console.log(USAGE);
    const paths = parsed.positionals.length ? parsed.positionals : defaultNotebooks();
    const dirty = await nbClean(paths, { check: parsed.values.check });
    if (parsed.values.check && dirty.length) {
      console.error(`error: ${dirty.length} notebook(s) have outputs; run \`deno task nb-clean\``);
      Deno.exit(1);
    }
  });
}
