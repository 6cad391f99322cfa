/**
 * Out of space mid-run (issue 21), as `deno task experiment` subprocesses: the output folder is a small
 * tmpfs (we are root) that is filled up while the run trains. The run ends with one `error:` line naming
 * the file and the reason, no stack; the folder stays loadable (every JSON parses, at most a torn last JSONL
 * line, no temp leftovers, no lock); with space again, `resume_from_checkpoint=latest` finishes the run
 * with the metrics of an uninterrupted one. Without root, the folder is made read-only mid-run instead
 * (permission denied); with neither, the test is skipped with a visible message.
 *
 * And a damaged checkpoint is never taken for a whole one: `latest` passes over it with a notice.
 * @module
 */
import { join } from "node:path";
import { LOCK_FILE } from "../lib/util/mod.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";
import { assertSameMetrics, checkRunFiles, mathHardArgs, runCli, spawnCli, TINY_PARAMS } from "./testing.ts";

const ROOT = await Deno.makeTempDir({ prefix: "enospc-test-" });
const mounts: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const m of mounts) new Deno.Command("umount", { args: [m], stderr: "null" }).outputSync();
  Deno.removeSync(ROOT, { recursive: true });
});

const PARAMS = { ...TINY_PARAMS, max_steps: 6, seed: 5, temperature: 1.5, warmup_ratio: 0, eval_steps: 0 };
const args = (out: string, extra: Record<string, unknown> = {}) =>
  mathHardArgs(out, { params: PARAMS, extra });

let baseline: Promise<string> | null = null;
function uninterrupted(): Promise<string> {
  return baseline ??= (async () => {
    const dir = join(ROOT, "uninterrupted");
    const r = await runCli("cli/experiment.ts", args(dir));
    assertEquals(r.code, 0, { msg: r.stderr });
    return dir;
  })();
}

/** How the disk is made to fail here: a tmpfs filled up (root), a read-only folder (not root), or null. */
function mountTmpfs(dir: string): boolean {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    const ok = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64m", "tmpfs", dir],
      stderr: "null",
    }).outputSync().success;
    if (ok) mounts.push(dir);
    return ok;
  } catch {
    return false;
  }
}

const probe = join(ROOT, "probe");
Deno.mkdirSync(probe);
const how = mountTmpfs(probe) ? "tmpfs" : Deno.build.os === "linux" && Deno.uid() !== 0 ? "read-only" : null;
if (!how) {
  console.warn("SKIPPED the out-of-space test: no tmpfs (needs root) and root ignores read-only folders");
}

/** Fills the file system of `dir` to the last byte with `<dir>/filler`. */
async function fill(dir: string): Promise<void> {
  const f = await Deno.open(join(dir, "filler"), { write: true, create: true });
  const chunk = new Uint8Array(16_384);
  try {
    while (true) await f.write(chunk);
  } catch {
    /* full */
  } finally {
    f.close();
  }
}

Deno.test({
  name:
    "out of space mid-run: one error line naming the file; the folder loads; resume = the uninterrupted run",
  ignore: how === null,
  sanitizeResources: false,
  fn: async () => {
    await uninterrupted();
    const dir = join(probe, "run");
    const run = spawnCli("cli/experiment.ts", args(dir));
    await run.waitFor(/\[train\] step 2\/6/);
    if (how === "tmpfs") await fill(probe);
    else await Deno.chmod(dir, 0o555);
    const r = await run.finish();
    assertEquals(r.code, 2, { msg: r.stderr });
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
    assertEquals(errors.length, 1, { msg: r.stderr });
    const reason = how === "tmpfs"
      ? "No space left on device (os error 28)"
      : "Permission denied (os error 13)";
    assert(errors[0].includes(reason) && errors[0].includes(dir), errors[0]);
    assert(!/^\s+at /m.test(r.stderr), `no stack trace:\n${r.stderr}`);

    if (how === "tmpfs") await Deno.remove(join(probe, "filler"));
    else await Deno.chmod(dir, 0o755);
    const files = await checkRunFiles(dir); // every JSON parses; JSONL: at most a torn last line
    assert(Object.values(files.torn).every((n) => n <= 1), JSON.stringify(files.torn));
    assertEquals(files.temps, [], { msg: "no half-written temp file or checkpoint is left" });
    assertEquals(await Deno.stat(join(dir, LOCK_FILE)).catch(() => null), null, {
      msg: "the lock is released",
    });

    const resumed = await runCli("cli/experiment.ts", args(dir, { resume_from_checkpoint: "latest" }));
    assertEquals(resumed.code, 0, { msg: resumed.stderr });
    assert(/resuming math_hard from .*checkpoint-\d+ \(step \d+ of 6\)/.test(resumed.stderr), resumed.stderr);
    await assertSameMetrics(dir, await uninterrupted());
  },
});

Deno.test({
  name:
    "a damaged checkpoint is passed over by resume_from_checkpoint=latest with a notice; the resume matches",
  sanitizeResources: false,
  fn: async () => {
    const base = await uninterrupted();
    const dir = join(ROOT, "damaged");
    await new Deno.Command("cp", { args: ["-r", base, dir] }).output();
    // As a copy cut short or a file system without atomic renames could leave it.
    const opt = join(dir, "checkpoint-6", "optimizer.safetensors");
    const bytes = await Deno.readFile(opt);
    await Deno.writeFile(opt, bytes.subarray(0, bytes.length - 100));
    const r = await runCli("cli/experiment.ts", args(dir, { resume_from_checkpoint: "latest" }));
    assertEquals(r.code, 0, { msg: r.stderr });
    const notes = r.stderr.split("\n").filter((l) => l.includes("is incomplete"));
    assertEquals(notes.length, 1, { msg: r.stderr });
    assert(
      notes[0].startsWith(`notice: ${join(dir, "checkpoint-6")} is incomplete (optimizer.safetensors: `),
      notes[0],
    );
    assert(r.stderr.includes(`resuming math_hard from ${join(dir, "checkpoint-5")} (step 5 of 6)`), r.stderr);
    await assertSameMetrics(dir, await uninterrupted());
  },
});
