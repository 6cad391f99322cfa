import { join } from "node:path";
import { checkpointName, UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { resolveConfig } from "./config.ts";
import { openRunDir } from "./run_dir.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-run-dir-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

const cfg = (dir: string, extra: Record<string, unknown> = {}) =>
  resolveConfig({ output_dir: dir, max_steps: 3, ...extra });

Deno.test("openRunDir: a fresh folder opens; an earlier run is refused unless overwrite_output_dir, which clears it", async () => {
  const dir = join(ROOT, "run");
  const logged: string[] = [];
  const log = (l: string) => logged.push(l);
  const run = await openRunDir(cfg(dir), { log });
  assertEquals(run.dir, dir);
  assertEquals(await run.resume({} as never, { experiment: "x" }), null, {
    msg: "no resume_from_checkpoint",
  });
  const files = await run.begin({ experiment: "x", resumed: null });
  await files.log({ step: 1, loss: 0.5 });
  await Deno.mkdir(join(dir, checkpointName(1)));
  await run.release();
  await assertRejects(() => openRunDir(cfg(dir), { log }), {
    cls: UserError,
    includes: "already holds a run (x seed 42",
  });
  await Deno.mkdir(join(dir, ".checkpoint-2.4242.k3x9.tmp")); // a killed checkpoint write
  const again = await openRunDir(cfg(dir, { overwrite_output_dir: true }), { log });
  await again.begin({ experiment: "x", resumed: null });
  await again.release();
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assertEquals(names, [
    "completions.jsonl",
    "eval_completions.jsonl",
    "metrics.jsonl",
    "run_config.json",
    "trainer_state.json",
  ]);
  assertEquals(await Deno.readTextFile(join(dir, "metrics.jsonl")), "");
  assert(logged.some((l) => l.includes("cleaned up 1 leftover")), logged.join("\n"));
  assert(logged.some((l) => l.includes("removing 1 checkpoint(s) of the earlier run")), logged.join("\n"));
});

Deno.test("openRunDir: an output_dir that cannot be written → one UserError naming it", async () => {
  const file = join(ROOT, "a-file");
  await Deno.writeTextFile(file, "");
  await assertRejects(() => openRunDir(cfg(join(file, "run")), { log: () => {} }), {
    cls: UserError,
    includes: `option output_dir = "${join(file, "run")}": cannot write to`,
  });
});
