import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import { checkNotebookTypes, cleanNotebookText, notebookScript } from "./clean.ts";
import { parseNotebook } from "./nbformat.ts";

const PY = "/usr/bin/python3";
const HAVE_NBFORMAT = (() => {
  try {
    return new Deno.Command(PY, { args: ["-c", "import nbformat"], stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!HAVE_NBFORMAT) {
  console.warn("clean_test: python3-nbformat is not installed; skipping the Jupyter round trips");
}

/** Runs a Python snippet with nbformat; returns stdout. */
function py(code: string, cwd: string): string {
  const out = new Deno.Command(PY, { args: ["-c", code], cwd, stdout: "piped", stderr: "piped" })
    .outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

// A notebook as JupyterLab saves it after a run: cell ids, kernelspec, outputs, counts, cell metadata.
const MAKE = `
import nbformat
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell, new_output
nb = new_notebook(metadata={"kernelspec": {"display_name": "Deno", "language": "typescript", "name": "deno"}})
nb.cells = [
  new_markdown_cell("# Title — ünïcode"),
  new_code_cell("let max_steps = 5;", metadata={"tags": ["parameters"]}, execution_count=1),
  new_code_cell("console.log(max_steps)", execution_count=2, metadata={"collapsed": False},
    outputs=[new_output("stream", name="stdout", text="5\\n")]),
]
nbformat.write(nb, "ran.ipynb")
for c in nb.cells:
  if c.cell_type == "code":
    c.outputs = []; c.execution_count = None
nbformat.write(nb, "clean.ipynb")
`;

Deno.test({
  name: "cleanNotebookText: a notebook Jupyter saved with outputs comes out as Jupyter writes it cleared",
  ignore: !HAVE_NBFORMAT,
  fn() {
    const dir = Deno.makeTempDirSync();
    try {
      py(MAKE, dir);
      const ran = Deno.readTextFileSync(join(dir, "ran.ipynb"));
      const r = cleanNotebookText(ran);
      assertEquals(r.dirtyCells, 2);
      assertEquals(r.text, Deno.readTextFileSync(join(dir, "clean.ipynb")));
      const nb = parseNotebook(r.text);
      assert(nb.cells.every((c) => typeof c.id === "string" && c.id.length > 0), "cell ids are kept");
      assertEquals(nb.cells[2].metadata, { collapsed: false });
      assertEquals((nb.metadata.kernelspec as { name: string }).name, "deno");
      // Jupyter's own reader accepts the result and finds no outputs.
      Deno.writeTextFileSync(join(dir, "ours.ipynb"), r.text);
      const n = py(
        `import nbformat; nb = nbformat.read("ours.ipynb", as_version=4); nbformat.validate(nb); print(sum(len(c.get("outputs", [])) for c in nb.cells))`,
        dir,
      );
      assertEquals(n.trim(), "0");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("cleanNotebookText: a notebook without outputs is left byte for byte, in any JSON layout", () => {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [{ cell_type: "code", id: "a", metadata: {}, source: "1", outputs: [], execution_count: null }],
  };
  for (const text of [JSON.stringify(nb), JSON.stringify(nb, null, 2) + "\n", JSON.stringify(nb, null, 1)]) {
    const r = cleanNotebookText(text);
    assertEquals([r.text, r.dirtyCells], [text, 0]);
  }
  assertThrows(() => cleanNotebookText("{", { file: "x.ipynb" }), {
    cls: UserError,
    includes: "x.ipynb: not valid JSON",
  });
});

const nbWith = (cells: string[]) =>
  JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: "markdown", metadata: {}, source: "text" },
      ...cells.map((source) => ({
        cell_type: "code",
        metadata: {},
        source,
        outputs: [],
        execution_count: null,
      })),
    ],
  });

Deno.test("notebookScript: code cells in order, each marked with its cell number", () => {
  assertEquals(
    notebookScript(parseNotebook(nbWith(["let a = 1;", "a + 1"]))),
    "// cell 2\nlet a = 1;\n\n// cell 3\na + 1\n",
  );
});

Deno.test("checkNotebookTypes: cells type-check together; a type error fails naming the notebook", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const good = join(dir, "good.ipynb"), bad = join(dir, "bad.ipynb");
    Deno.writeTextFileSync(
      good,
      nbWith(["let n: number = 1;", "const m = await Promise.resolve(n + 1);\nm"]),
    );
    Deno.writeTextFileSync(bad, nbWith(["let n: number = 1;", 'n = "two";']));
    assertEquals((await checkNotebookTypes(good)).ok, true);
    const r = await checkNotebookTypes(bad);
    assertEquals(r.ok, false);
    assert(r.output.includes("bad.ipynb") && r.output.includes("TS2322"), r.output);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["bad.ipynb", "good.ipynb"], {
      msg: "temp module removed",
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
