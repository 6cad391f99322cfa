import { existsSync } from "node:fs";
import { runNotebook } from "./runner.ts";
import { joinSource, makeNotebook, type Notebook, readNotebook, writeNotebook } from "./nbformat.ts";
import type { CellSpec } from "./nbformat.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";

const UTIL_MOD_TS = new URL("../util/mod.ts", import.meta.url).href;

const tempDirs: string[] = [];

/** Removes the temp folders made by {@linkcode setup}. */
async function cleanup(): Promise<void> {
  for (const d of tempDirs.splice(0)) await Deno.remove(d, { recursive: true });
}

/** Writes a notebook into `<tmp>/notebooks/<name>.ipynb`; returns its path and an output folder. */
async function setup(
  name: string,
  cells: CellSpec[],
): Promise<{ path: string; outDir: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "nbtest-" });
  tempDirs.push(dir);
  const path = `${dir}/notebooks/${name}.ipynb`;
  await writeNotebook(path, makeNotebook(cells));
  return { path, outDir: `${dir}/out`, dir };
}

function quiet() {
  const lines: string[] = [], streams: string[] = [];
  return {
    lines,
    streams,
    log: (l: string) => lines.push(l),
    onStream: (_: string, t: string) => streams.push(t),
  };
}

function texts(nb: Notebook, i: number): string {
  return (nb.cells[i].outputs ?? []).map((o) =>
    o.output_type === "stream"
      ? joinSource(o.text)
      : o.output_type === "execute_result" || o.output_type === "display_data"
      ? joinSource(o.data["text/plain"] as string[])
      : ""
  ).join("");
}

Deno.test("runNotebook: parameters injected, streams and results captured, cwd is the notebook's folder", async () => {
  const { path, outDir, dir } = await setup("params", [
    { type: "markdown", source: "# Params" },
    { type: "code", source: 'let x = 2;\nlet label = "a";', tags: ["parameters"] },
    {
      type: "code",
      source: "console.log(`x*2=${x * 2} ${label}`);\nconsole.error('progress 1/1');\nDeno.cwd()",
    },
  ]);
  const q = quiet();
  const res = await runNotebook(path, { params: { x: 21, label: "hi" }, outDir, ...q });
  assert(res.ok, `run failed: ${JSON.stringify(res.error)}`);
  assertEquals(res.outPath, `${outDir}/params.ipynb`);
  const nb = await readNotebook(res.outPath);
  assertEquals(nb.cells.map((c) => c.metadata.tags?.[0] ?? c.cell_type), [
    "markdown",
    "parameters",
    "injected-parameters",
    "code",
  ]);
  assertEquals(nb.cells.map((c) => c.execution_count ?? null), [null, 1, 2, 3]);
  const out = nb.cells[3].outputs!;
  assertEquals(out[0], { output_type: "stream", name: "stdout", text: ["x*2=42 hi\n"] });
  assertEquals(out[1], { output_type: "stream", name: "stderr", text: ["progress 1/1\n"] });
  assert(texts(nb, 3).includes(`"${dir}/notebooks"`), `cwd not the notebook folder: ${texts(nb, 3)}`);
  assert(q.streams.join("").includes("x*2=42 hi\n"), "stream text forwarded live");
  assert(q.lines.some((l) => /^\[cell 3\/3\] done in \d+\.\ds$/.test(l)), q.lines.join("\n"));
  assertEquals((nb.metadata.runner as { status: string }).status, "completed");
  await cleanup();
});

Deno.test("runNotebook: unknown parameter (or output = input) is a UserError before any kernel starts", async () => {
  const { path, outDir } = await setup("unknown", [{
    type: "code",
    source: "let x = 1;",
    tags: ["parameters"],
  }]);
  const q = quiet();
  const t = performance.now();
  await assertRejects(() => runNotebook(path, { params: { y: 3 }, outDir, ...q }), {
    cls: UserError,
    includes: 'unknown parameter "y"; the parameters cell declares: x',
  });
  assert(performance.now() - t < 1000, "failed fast");
  assertEquals(q.lines, [], { msg: "no run started" });
  await assertRejects(() => Deno.stat(outDir));
  const same = path.slice(0, path.lastIndexOf("/"));
  await assertRejects(() => runNotebook(path, { outDir: same, ...q }), {
    cls: UserError,
    includes: "refusing to overwrite",
  });
  await cleanup();
});

Deno.test("runNotebook: a failing cell stops the run; the notebook is written with the error output", async () => {
  const { path, outDir } = await setup("fails", [
    { type: "code", source: "console.log('before')" },
    { type: "code", source: "y + 1" },
    { type: "code", source: "console.log('never')" },
  ]);
  const q = quiet();
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(`${outDir}/fails.ipynb`, "the last good run");
  const res = await runNotebook(path, { outDir, ...q });
  assert(!res.ok);
  assertEquals(res.outPath, `${outDir}/fails.failed.ipynb`);
  assertEquals(await Deno.readTextFile(`${outDir}/fails.ipynb`), "the last good run", {
    msg: "the good copy is kept",
  });
  assert(!existsSync(`${outDir}/fails.running.ipynb`), "no running copy left");
  assert(
    q.lines.some((l) => l.includes(`the last good run stays in ${outDir}/fails.ipynb`)),
    q.lines.join("\n"),
  );
  assertEquals(res.error?.cell, 2);
  assertEquals(res.error?.ename, "ReferenceError");
  assertEquals(res.error?.evalue, "y is not defined");
  assertEquals(res.cells.map((c) => c.status), ["ok", "error", "not-run"]);
  const nb = await readNotebook(res.outPath);
  assertEquals(nb.cells[1].outputs?.[0]?.output_type, "error");
  assertEquals(nb.cells[2].outputs, []);
  assertEquals(nb.cells[2].execution_count, null);
  assertEquals((nb.metadata.runner as { status: string }).status, "failed");
  assert(q.lines.some((l) => l.includes("ReferenceError: y is not defined")), "traceback printed");
  await writeNotebook(path, makeNotebook([{ type: "code", source: "console.log('fixed')" }]));
  const good = await runNotebook(path, { outDir, ...quiet() });
  assertEquals([good.ok, good.outPath], [true, `${outDir}/fails.ipynb`]);
  assert(!existsSync(`${outDir}/fails.failed.ipynb`), "a good run removes the stale failed copy");
  await cleanup();
});

Deno.test("runNotebook: live display updates arrive as update_display_data and are merged in place", async () => {
  const { path, outDir } = await setup("live", [
    { type: "code", source: `import { display, html, liveDisplay } from "${UTIL_MOD_TS}";` },
    {
      type: "code",
      source: [
        "const live = liveDisplay();",
        "for (let i = 1; i <= 3; i++) await live.update({ 'text/plain': `step ${i}`, 'text/html': `<b>${i}</b>` });",
        "await display(html('<i>static</i>'));",
      ].join("\n"),
    },
    { type: "code", source: "await live.update({ 'text/plain': 'final' });\nhtml('<u>last</u>')" },
  ]);
  const res = await runNotebook(path, { outDir, ...quiet() });
  assert(res.ok, JSON.stringify(res.error));
  assertEquals(res.cells[1].messages.display_data, 2);
  assertEquals(res.cells[1].messages.update_display_data, 2);
  assertEquals(res.cells[2].messages.update_display_data, 1);
  const nb = await readNotebook(res.outPath);
  const outs = nb.cells[1].outputs!;
  assertEquals(outs.length, 2, { msg: "updates replace the live output instead of appending" });
  assertEquals(outs[0], { output_type: "display_data", data: { "text/plain": ["final"] }, metadata: {} });
  assertEquals(outs[1].output_type === "display_data" && outs[1].data["text/html"], ["<i>static</i>"]);
  const last = nb.cells[2].outputs!;
  assertEquals(last.length, 1);
  assertEquals(last[0].output_type === "execute_result" && last[0].data["text/html"], ["<u>last</u>"]);
  await cleanup();
});

Deno.test("runNotebook: a cell past --timeout and a dying kernel both stop the run with a clear error", async () => {
  const slow = await setup("slow", [
    { type: "code", source: "await new Promise((r) => setTimeout(r, 20_000));" },
    { type: "code", source: "1" },
  ]);
  const t = performance.now();
  const res = await runNotebook(slow.path, { outDir: slow.outDir, timeoutMs: 800, ...quiet() });
  assert(performance.now() - t < 10_000, "timeout honoured");
  assertEquals(res.error?.ename, "CellTimeoutError");
  assert(res.error?.evalue.includes("within 0.8s"), res.error?.evalue);
  assertEquals((await readNotebook(res.outPath)).cells[0].outputs?.[0]?.output_type, "error");

  const dies = await setup("dies", [{ type: "code", source: "Deno.exit(3)" }, { type: "code", source: "1" }]);
  const r2 = await runNotebook(dies.path, { outDir: dies.outDir, ...quiet() });
  assertEquals(r2.error?.ename, "KernelDiedError");
  assert(r2.error?.evalue.includes("exit code 3"), r2.error?.evalue);
  assertEquals(r2.cells.map((c) => c.status), ["error", "not-run"]);
  await cleanup();
});
