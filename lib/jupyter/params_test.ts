import { declaredParameters, INJECTED_TAG, injectParameters, parseParamArgs, toTsLiteral } from "./params.ts";
import { joinSource, makeNotebook } from "./nbformat.ts";
import { UserError } from "../util/mod.ts";
import { assertEquals, assertThrows } from "../util/assert.ts";

Deno.test("parseParamArgs splits on the first = and rejects bad keys", () => {
  assertEquals(parseParamArgs(["steps=10", "name=a=b", 'tags=["x"]']), {
    steps: 10,
    name: "a=b",
    tags: ["x"],
  });
  assertThrows(() => parseParamArgs(["steps"]), { cls: UserError, includes: "expected key=value" });
  assertThrows(() => parseParamArgs(["1x=2"]), {
    cls: UserError,
    includes: '"1x" is not a valid identifier',
  });
});

Deno.test("declaredParameters finds let/const/var names, multi-declarations, skipping strings and comments", () => {
  const src = [
    "// let commented = 1",
    "let steps = 10, lr = 1e-4; // tuning, see notes",
    'let name: string = "a, b = c";',
    "const fixed = 3;",
    "let grid = [",
    "  1, 2,",
    "];",
    "var old = { a: 1, b: 2 }",
    "  let indented = true",
    "let trailing = 1,",
    "  next = 2;",
  ].join("\n");
  const got = declaredParameters(src);
  assertEquals([...got.keys()], [
    "steps",
    "lr",
    "name",
    "fixed",
    "grid",
    "old",
    "indented",
    "trailing",
    "next",
  ]);
  assertEquals(got.get("fixed"), "const");
  assertEquals(got.get("old"), "var");
});

Deno.test("injectParameters adds a tagged assignment cell right after the parameters cell", () => {
  const nb = makeNotebook([
    { type: "markdown", source: "# t" },
    { type: "code", source: 'let x = 1;\nlet name = "a";', tags: ["parameters"] },
    { type: "code", source: "x * 2" },
  ]);
  const out = injectParameters(nb, { x: 21, name: 'b"q' });
  assertEquals(out.cells.length, 4);
  assertEquals(out.cells[2].metadata.tags, [INJECTED_TAG]);
  assertEquals(joinSource(out.cells[2].source).split("\n").slice(1), ["x = 21;", 'name = "b\\"q";']);
  assertEquals(nb.cells.length, 3, { msg: "input unchanged" });
  // Re-running an executed notebook replaces the old injected cell instead of stacking a second one.
  const again = injectParameters(out, { x: 5 });
  assertEquals(again.cells.filter((c) => c.metadata.tags?.includes(INJECTED_TAG)).length, 1);
  assertEquals(joinSource(again.cells[2].source).includes("x = 5;"), true);
});

Deno.test("injectParameters: unknown, const-declared, or parameters without a parameters cell are UserErrors", () => {
  const nb = makeNotebook([{ type: "code", source: "let x = 1;\nconst k = 2;", tags: ["parameters"] }]);
  assertThrows(() => injectParameters(nb, { y: 1 }, { file: "n.ipynb" }), {
    cls: UserError,
    includes: 'n.ipynb: unknown parameter "y"; the parameters cell declares: x, k',
  });
  assertThrows(() => injectParameters(nb, { k: 1 }, { file: "n.ipynb" }), {
    cls: UserError,
    includes: "declared with const",
  });
  const plain = makeNotebook([{ type: "code", source: "let x = 1;" }]);
  assertThrows(() => injectParameters(plain, { x: 1 }, { file: "p.ipynb" }), {
    cls: UserError,
    includes: "no code cell is tagged",
  });
  assertEquals(injectParameters(plain, {}).cells.length, 1, { msg: "no params: nothing injected" });
});

Deno.test("toTsLiteral writes JSON, plus non-finite numbers", () => {
  assertEquals(toTsLiteral([1, "a", null]), '[1,"a",null]');
  assertEquals(toTsLiteral(NaN), "NaN");
  assertEquals(toTsLiteral(-Infinity), "-Infinity");
});
