/**
 * The project's layout rules, checked on the import statements of every `.ts` file in lib/, cli/, bench/
 * and notebooks/:
 * - an import of another folder goes through that folder's `mod.ts` (test helpers — `testing.ts`,
 *   `testing_*.ts`, `fixtures.ts`, `fake_gemini.ts`, and the assertions in `util/assert.ts` — are imported by
 *   path, since no `mod.ts` exports them);
 * - a lower layer never imports a higher one (util → onnx/jupyter → model → rewards/judge/data → grpo → study
 *   level → notebook/cli), and neither folders nor files import each other in a cycle. `lib/jupyter` (the
 *   headless Jupyter client) is a tool over util alone, so it sits beside onnx: anything above may use it.
 * @module
 */
import { assertEquals } from "./util/assert.ts";
import { sourceFiles } from "./util/testing_files.ts";

const ROOT = new URL("../", import.meta.url);
const TOP = ["lib", "cli", "bench", "notebooks"];

/** Layer of each folder, bottom up; a folder may import only its own layer or lower ones. */
const LAYER: Record<string, number> = {
  "lib/util": 0,
  "lib/onnx": 1,
  "lib/jupyter": 1,
  "lib/model": 2,
  "lib/rewards": 3,
  "lib/judge": 3,
  "lib/data": 3,
  "lib/grpo": 4,
  "lib/study": 5,
  "lib/eval": 5,
  "lib/analysis": 5,
  "lib/pretrain": 5,
  "lib/notebook": 6,
  "cli": 6,
  "bench": 7,
  "notebooks": 7,
};

const TEST_HELPER = /(^|\/)(testing(_\w+)?|fixtures|fake_gemini|assert)\.ts$/;

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/** Relative `import`/`export … from` specifiers of `text` (static and dynamic), with whether they are type-only. */
export function relativeImports(text: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  const re =
    /(?:^|\n)\s*(import|export)(\s+type)?\b[^;'"]*?\bfrom\s*["'](\.[^"']+)["']|\bimport\(\s*["'](\.[^"']+)["']\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[3]) out.push({ spec: m[3], typeOnly: m[2] !== undefined });
    else out.push({ spec: m[4], typeOnly: false });
  }
  return out;
}

function folderOf(path: string): string {
  const parts = path.split("/");
  return parts[0] === "lib" && parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
}

async function allImports(): Promise<Import[]> {
  const out: Import[] = [];
  for (const top of TOP) {
    for (const file of await sourceFiles(top)) {
      const text = await Deno.readTextFile(new URL(file, ROOT));
      for (const { spec, typeOnly } of relativeImports(text)) {
        out.push({ from: file, to: resolve(file, spec), typeOnly });
      }
    }
  }
  return out;
}

const isTest = (f: string) => f.endsWith("_test.ts") || TEST_HELPER.test(f);

Deno.test("relativeImports: static, type-only, re-exports and dynamic imports; package imports ignored", () => {
  const src = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b/mod.ts";',
    "import {",
    "  c,",
    '} from "../c/c.ts";',
    'export * from "./d.ts";',
    'const e = await import("./e.ts");',
    'import { f } from "@google/genai";',
  ].join("\n");
  assertEquals(relativeImports(src), [
    { spec: "./a.ts", typeOnly: false },
    { spec: "../b/mod.ts", typeOnly: true },
    { spec: "../c/c.ts", typeOnly: false },
    { spec: "./d.ts", typeOnly: false },
    { spec: "./e.ts", typeOnly: false },
  ]);
});

Deno.test("layering: imports of another folder go through its mod.ts (test helpers by path)", async () => {
  const bad = (await allImports())
    .filter((i) => folderOf(i.from) !== folderOf(i.to) && i.to.startsWith("lib/"))
    .filter((i) => !i.to.endsWith("/mod.ts") && !TEST_HELPER.test(i.to))
    .map((i) => `${i.from} imports ${i.to}`);
  assertEquals(bad, []);
});

/** Cycles in a directed graph, each as its path `a → b → … → a` (one per back edge found). */
export function findCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (node: string, path: string[]) => {
    if (state.get(node) === "done") return;
    if (state.get(node) === "open") {
      cycles.push([...path.slice(path.indexOf(node)), node].join(" → "));
      return;
    }
    state.set(node, "open");
    for (const next of [...(edges.get(node) ?? [])].sort()) visit(next, [...path, node]);
    state.set(node, "done");
  };
  for (const node of [...edges.keys()].sort()) visit(node, []);
  return cycles;
}

function addEdge(edges: Map<string, Set<string>>, a: string, b: string): void {
  if (!edges.has(a)) edges.set(a, new Set());
  edges.get(a)!.add(b);
}

Deno.test("findCycles names each cycle and finds none in a layered graph", () => {
  const g = new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])], [
    "d",
    new Set(["a"]),
  ]]);
  assertEquals(findCycles(g), ["a → b → c → a"]);
  assertEquals(findCycles(new Map([["a", new Set(["b"])], ["b", new Set<string>()]])), []);
});

Deno.test("layering: no folder imports a higher layer, and folders import each other in no cycle", async () => {
  const edges = new Map<string, Set<string>>();
  const upward: string[] = [];
  for (const i of await allImports()) {
    const a = folderOf(i.from), b = folderOf(i.to);
    if (a === b || isTest(i.from) || TEST_HELPER.test(i.to)) continue;
    if ((LAYER[a] ?? 99) < (LAYER[b] ?? 99)) upward.push(`${i.from} (${a}) imports ${i.to} (${b})`);
    addEdge(edges, a, b);
  }
  assertEquals(upward, []);
  assertEquals(findCycles(edges), []);
});

Deno.test("layering: files import each other in no cycle (type-only imports aside)", async () => {
  const edges = new Map<string, Set<string>>();
  for (const i of await allImports()) if (!i.typeOnly) addEdge(edges, i.from, i.to);
  assertEquals(findCycles(edges), []);
});
