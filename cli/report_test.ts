import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertThrows } from "../lib/util/assert.ts";
import { UserError } from "../lib/util/mod.ts";
import { writeFakeRun } from "../lib/analysis/fixtures.ts";
import { parseReportArgs } from "./report.ts";

const SCRIPT = fileURLToPath(new URL("./report.ts", import.meta.url));

async function run(args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: res.code, out: dec.decode(res.stdout), err: dec.decode(res.stderr) };
}

Deno.test("parseReportArgs: defaults, both flag forms, errors name the flag", () => {
  assertEquals(parseReportArgs([], { trlLogs: "/t" }), {
    outputs: "outputs",
    outputsGiven: false,
    trlLogs: "/t",
    out: "outputs/report.html",
    help: false,
  });
  const a = parseReportArgs([
    "--outputs=o",
    "--out",
    "r.html",
    "--no-trl-logs",
    "--window",
    "5",
    "--title",
    "X",
  ]);
  assertEquals([a.outputs, a.outputsGiven, a.out, a.trlLogs, a.window, a.title], [
    "o",
    true,
    "r.html",
    null,
    5,
    "X",
  ]);
  assertThrows(() => parseReportArgs(["--bogus"]), UserError, 'unknown flag "--bogus"');
  assertThrows(() => parseReportArgs(["--out"]), UserError, "--out: missing value");
  assertThrows(
    () => parseReportArgs(["--window", "0"]),
    UserError,
    '--window: expected a positive integer, got "0"',
  );
});

Deno.test("deno task report: unknown flag is one line on stderr, exit 2", async () => {
  const r = await run(["--frobnicate"], Deno.cwd());
  assertEquals(r.code, 2);
  assertEquals(r.err.trim().split("\n").length, 1);
  assert(r.err.startsWith('error: unknown flag "--frobnicate"'), r.err);
});

Deno.test("deno task report: loads our runs, prints findings count and the path written", async () => {
  const dir = await Deno.makeTempDir();
  for (const seed of [0, 1]) {
    await writeFakeRun(join(dir, "outputs"), { experiment: "math_hard", seed, steps: 12 });
  }
  const r = await run(["--no-trl-logs", "--out", "out/r.html"], dir);
  assertEquals(r.code, 0, r.err);
  assert(r.out.includes("loaded 2 runs:"), r.out);
  assert(r.out.includes("math_hard seed 1: 13 steps"), r.out);
  assert(/\d+ integrity findings, \d+ findings sentences, \d+ figures/.test(r.out), r.out);
  assert(r.out.includes("wrote out/r.html"), r.out);
  assert((await Deno.stat(join(dir, "out", "r.html"))).size > 1_000_000);
  const missing = await run(["--outputs", "nope"], dir);
  assertEquals([missing.code, missing.err.trim()], [2, "error: --outputs nope: no such folder"]);
  await Deno.remove(dir, { recursive: true });
});
