import { parseRunArgs } from "./run_notebook.ts";
import { makeNotebook, readNotebook, writeNotebook } from "../lib/jupyter/mod.ts";
import { UserError } from "../lib/util/mod.ts";
import { assert, assertEquals, assertThrows } from "../lib/util/assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/run_notebook.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("parseRunArgs: params, --out, --timeout; bad input is a UserError", () => {
  assertEquals(
    parseRunArgs(["nb.ipynb", "--param", "x=3", "-p", "name=abc", "--out", "o", "--timeout", "2.5"]),
    {
      path: "nb.ipynb",
      params: { x: 3, name: "abc" },
      outDir: "o",
      timeoutS: 2.5,
    },
  );
  assertThrows(() => parseRunArgs([]), { cls: UserError, includes: "expected one notebook path" });
  assertThrows(() => parseRunArgs(["a.ipynb", "--timeout", "soon"]), {
    cls: UserError,
    includes: '--timeout "soon"',
  });
  assertThrows(() => parseRunArgs(["a.ipynb", "--bogus"]), { cls: UserError, includes: "usage:" });
});

Deno.test("run-notebook CLI: a failing cell exits 1 with a one-line error and still writes the notebook", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nbcli-" });
  const path = `${dir}/fails.ipynb`;
  await writeNotebook(
    path,
    makeNotebook([
      { type: "code", source: "let n = 1;", tags: ["parameters"] },
      { type: "code", source: "console.log('n is', n)" },
      { type: "code", source: "throw new TypeError(`bad n ${n}`)" },
    ]),
  );
  const r = await cli([path, "--param", "n=7", "--out", `${dir}/out`]);
  assertEquals(r.code, 1, { msg: r.stderr });
  assert(r.stdout.includes("n is 7"), `stream forwarded: ${r.stdout}`);
  assert(r.stderr.includes("[cell 3/4] running…"), r.stderr);
  assertEquals(r.stderr.trim().split("\n").at(-1), "error: cell 4 failed: TypeError: bad n 7");
  const nb = await readNotebook(`${dir}/out/fails.failed.ipynb`);
  assertEquals(nb.cells[3].outputs?.[0]?.output_type, "error");

  const bad = await cli([path, "--param", "m=1", "--out", `${dir}/out2`]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes("error: " + path + ': unknown parameter "m"'), bad.stderr);
  await Deno.remove(dir, { recursive: true });
});
