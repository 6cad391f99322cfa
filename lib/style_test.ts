/**
 * The project's style rules that a reader checks by eye, checked on the code itself:
 * - every exported function takes at most two positional arguments plus an options object — except the
 *   ONNX operator builders, which mirror the operator's own signature (`lib/onnx/ops.ts`, `fused.ts`,
 *   `composites.ts`);
 * - every export has JSDoc;
 * - no source file is longer than {@linkcode MAX_LINES} lines.
 *
 * Exports are read with `deno doc --json`, the same parser the docs use.
 * @module
 */
import { assertEquals } from "./util/assert.ts";
import { sourceFiles } from "./util/testing_files.ts";

const ROOT = new URL("../", import.meta.url);
const TOP = ["lib", "cli", "bench", "notebooks"];
/** The longest a source file may be ("about 400 lines"). */
const MAX_LINES = 410;
/** The one exemption from the argument rule: builders that mirror an ONNX operator's signature. */
const OPERATOR_BUILDERS = /^lib\/onnx\/(ops|fused|composites)\.ts$/;

interface DocParam {
  kind: string;
  name?: string;
  tsType?: { kind?: string; repr?: string };
}
interface DocDeclaration {
  declarationKind?: string;
  kind: string;
  jsDoc?: { doc?: string };
  def?: { params?: DocParam[] };
}
interface DocNode {
  symbols?: { name: string; declarations: DocDeclaration[] }[];
}

/** Whether a parameter is an options object: a destructured object, an object type, or a `…Options` type. */
function isOptionsObject(p: DocParam): boolean {
  const t = p.tsType ?? {};
  return p.kind === "assign" || p.kind === "object" || t.kind === "typeLiteral" ||
    t.kind === "intersection" ||
    (t.kind === "typeRef" && /(Options|Opts)$/.test(t.repr ?? ""));
}

/** Positional parameters of a function: all but a trailing options object. */
function positional(params: readonly DocParam[]): number {
  const n = params.length;
  return n > 0 && isOptionsObject(params[n - 1]) ? n - 1 : n;
}

async function exportedDeclarations(): Promise<{ file: string; name: string; decl: DocDeclaration }[]> {
  const files: string[] = [];
  for (const top of ["lib", "cli", "bench"]) files.push(...(await sourceFiles(top)).sort());
  const product = files.filter((f) => !f.endsWith("_test.ts"));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...product],
    cwd: new URL(".", ROOT),
    stdout: "piped",
    stderr: "null",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as { nodes: Record<string, DocNode> };
  const root = new URL(".", ROOT).href;
  const decls: { file: string; name: string; decl: DocDeclaration }[] = [];
  for (const [url, node] of Object.entries(doc.nodes)) {
    const file = url.startsWith(root) ? url.slice(root.length) : url;
    for (const s of node.symbols ?? []) {
      for (const d of s.declarations) {
        if (d.declarationKind === "export" && d.kind !== "reference") {
          decls.push({ file, name: s.name, decl: d });
        }
      }
    }
  }
  return decls;
}

Deno.test("exported functions take at most two positional arguments plus an options object", async () => {
  const decls = await exportedDeclarations();
  // The operator builders, also where lib/onnx/mod.ts re-exports them.
  const builders = new Set(decls.filter(({ file }) => OPERATOR_BUILDERS.test(file)).map(({ name }) => name));
  const bad = decls
    .filter(({ file, decl }) => decl.kind === "function" && !OPERATOR_BUILDERS.test(file))
    .filter(({ file, name }) => !(file === "lib/onnx/mod.ts" && builders.has(name)))
    .filter(({ decl }) => positional(decl.def?.params ?? []) > 2)
    .map(({ file, name, decl }) =>
      `${file}: ${name}(${(decl.def?.params ?? []).map((p) => p.name ?? p.kind)})`
    );
  assertEquals([...new Set(bad)], []);
});

Deno.test("every export has JSDoc", async () => {
  const bad = (await exportedDeclarations())
    .filter(({ decl }) => !decl.jsDoc?.doc?.trim())
    .map(({ file, name }) => `${file}: ${name}`);
  assertEquals([...new Set(bad)], []);
});

Deno.test(`no source file is longer than ${MAX_LINES} lines`, async () => {
  const long: string[] = [];
  for (const top of TOP) {
    for (const f of await sourceFiles(top)) {
      const lines = (await Deno.readTextFile(new URL(f, ROOT))).split("\n").length - 1;
      if (lines > MAX_LINES) long.push(`${f}: ${lines} lines`);
    }
  }
  assertEquals(long, []);
});

Deno.test("the options-object rule recognizes destructured and typed options", () => {
  assertEquals(positional([{ kind: "identifier" }, { kind: "identifier" }, { kind: "assign" }]), 2);
  assertEquals(
    positional([{ kind: "identifier" }, { kind: "identifier" }, {
      kind: "identifier",
      tsType: { kind: "keyword" },
    }]),
    3,
  );
  assertEquals(positional([{ kind: "identifier", tsType: { kind: "typeRef", repr: "EvalOptions" } }]), 0);
});
