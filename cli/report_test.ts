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
  assertThrows(() => parseReportArgs(["--bogus"]), { cls: UserError, includes: 'unknown flag "--bogus"' });
  assertThrows(() => parseReportArgs(["--out"]), { cls: UserError, includes: "--out: missing value" });
  assertThrows(() => parseReportArgs(["--window", "0"]), {
    cls: UserError,
    includes: '--window: expected a positive integer, got "0"',
  });
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
  assertEquals(r.code, 0, { msg: r.err });
  assert(r.out.includes("loaded 2 runs:"), r.out);
  assert(r.out.includes("math_hard seed 1: 13 steps"), r.out);
  assert(/\d+ integrity findings, \d+ findings sentences, \d+ figures/.test(r.out), r.out);
  assert(r.out.includes("wrote out/r.html"), r.out);
  assert((await Deno.stat(join(dir, "out", "r.html"))).size > 1_000_000);
  assertEquals(parseReportArgs(["--figures", "figs"]).figures, "figs");
  // Per-example held-out logs and the Testing notebook's results go into the report; --figures writes SVG + PNG.
  const runDir = join(dir, "outputs", "math_hard", "seed_0");
  const rec = (step: number, id: number, correct: boolean) =>
    JSON.stringify({ step, id, prompt: `q${id}`, completion: "c", gold: "1", correct });
  await Deno.writeTextFile(
    join(runDir, "eval_completions.jsonl"),
    [0, 10].flatMap((st) => [0, 1, 2, 3].map((i) => rec(st, i, st > 0 && i < 2))).join("\n") + "\n",
  );
  await Deno.writeTextFile(
    join(dir, "outputs", "testing_results.json"),
    JSON.stringify({
      generated_at: "then",
      rows: [{ name: "base model", adapter: null, experiment: null, math: null, dialogue: null, error: "x" }],
    }),
  );
  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].some((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  const r2 = await run(
    ["--no-trl-logs", "--out", "out/r2.html", ...(chromium ? ["--figures", "figs"] : [])],
    dir,
  );
  assertEquals(r2.code, 0, { msg: r2.err });
  assert(
    r2.out.includes("per-example held-out logs: 1 runs") &&
      r2.out.includes("Testing notebook results: 1 models"),
    r2.out,
  );
  const html = await Deno.readTextFile(join(dir, "out", "r2.html"));
  assert(
    html.includes("math_hard vs its base model (step 0)") &&
      html.includes("Testing: every adapter side by side"),
  );
  if (chromium) {
    const figs = [...Deno.readDirSync(join(dir, "figs"))].map((e) => e.name);
    assert(figs.includes("reward.svg") && figs.includes("reward.png"), figs.join(", "));
  } else console.warn("skipping the --figures check: chromium not installed");
  const missing = await run(["--outputs", "nope"], dir);
  assertEquals([missing.code, missing.err.trim()], [2, "error: --outputs nope: no such folder"]);
  await Deno.remove(dir, { recursive: true });
});
