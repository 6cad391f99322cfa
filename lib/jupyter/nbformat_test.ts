import {
  makeNotebook,
  parseNotebook,
  readNotebook,
  serializeNotebook,
  splitLines,
  stripOutputs,
  validateNotebook,
  writeNotebook,
} from "./nbformat.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";

Deno.test("makeNotebook builds a valid nbformat 4.5 Deno notebook that survives a write/read round trip", async () => {
  const nb = makeNotebook([
    { type: "markdown", source: "# Title\ntext" },
    { type: "code", source: "let x = 1;", tags: ["parameters"] },
    { type: "code", source: "console.log(x)\n" },
  ]);
  assertEquals(nb.nbformat, 4);
  assertEquals(nb.nbformat_minor, 5);
  assertEquals(nb.metadata.kernelspec, { display_name: "Deno", language: "typescript", name: "deno" });
  assertEquals((nb.metadata.language_info as { name: string }).name, "typescript");
  assertEquals(nb.cells.map((c) => c.id), ["cell-00", "cell-01", "cell-02"]);
  assertEquals(nb.cells[0].source, ["# Title\n", "text"]);
  assertEquals(nb.cells[1].metadata, { tags: ["parameters"] });
  assertEquals(nb.cells[2].outputs, []);
  assertEquals(nb.cells[2].execution_count, null);
  assert(!("outputs" in nb.cells[0]), "markdown cells have no outputs");
  const dir = await Deno.makeTempDir();
  await writeNotebook(`${dir}/n.ipynb`, nb);
  assertEquals(await readNotebook(`${dir}/n.ipynb`), nb);
  const text = serializeNotebook(nb);
  assert(text.indexOf('"cells"') < text.indexOf('"metadata"'), "keys are sorted like Jupyter writes them");
  assert(text.startsWith('{\n "cells"'), "one-space indent");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseNotebook: bad JSON or a non-nbformat-4 document is a UserError naming the file", async () => {
  assertThrows(() => parseNotebook("{oops", { file: "a.ipynb" }), {
    cls: UserError,
    includes: "a.ipynb: not valid JSON",
  });
  assertThrows(() => parseNotebook('{"nbformat": 3, "cells": []}', { file: "old.ipynb" }), {
    cls: UserError,
    includes: "old.ipynb: nbformat is 3",
  });
  const bad = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: "code", source: 7 }] };
  assertThrows(() => validateNotebook(bad, { file: "b.ipynb" }), {
    cls: UserError,
    includes: "b.ipynb: cells[0].source",
  });
  const badType = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: "sql", source: "" }] };
  assertThrows(() => validateNotebook(badType, { file: "c.ipynb" }), {
    cls: UserError,
    includes: 'cells[0].cell_type is "sql"',
  });
  await assertRejects(() => readNotebook("/nonexistent/x.ipynb"), {
    cls: UserError,
    includes: "/nonexistent/x.ipynb: notebook not found",
  });
});

Deno.test("validateNotebook fills defaults for optional code cell fields", () => {
  const nb = validateNotebook({
    nbformat: 4,
    nbformat_minor: 4,
    metadata: {},
    cells: [{ cell_type: "code", source: ["a"] }],
  });
  assertEquals(nb.cells[0].outputs, []);
  assertEquals(nb.cells[0].execution_count, null);
  assertEquals(nb.cells[0].metadata, {});
});

Deno.test("stripOutputs clears outputs and execution counts without touching the input", () => {
  const nb = makeNotebook([{ type: "code", source: "1" }, { type: "markdown", source: "m" }]);
  nb.cells[0].outputs = [{ output_type: "stream", name: "stdout", text: ["hi\n"] }];
  nb.cells[0].execution_count = 3;
  const clean = stripOutputs(nb);
  assertEquals(clean.cells[0].outputs, []);
  assertEquals(clean.cells[0].execution_count, null);
  assertEquals(clean.cells[1], nb.cells[1]);
  assertEquals(nb.cells[0].execution_count, 3, { msg: "input notebook unchanged" });
});

Deno.test("splitLines keeps newlines like Jupyter", () => {
  assertEquals(splitLines("a\nb\n"), ["a\n", "b\n"]);
  assertEquals(splitLines("a\n\nb"), ["a\n", "\n", "b"]);
  assertEquals(splitLines(""), []);
});
