/**
 * Unit tests of what a killed run leaves behind and how the next run deals with it (the end-to-end
 * kill / resume tests are cli/experiment_crash_test.ts).
 * @module
 */
import { join } from "node:path";
import { existsSync } from "node:fs";
import { assertEquals } from "../util/assert.ts";
import { listCheckpoints, removeStaleTemps } from "./checkpoint.ts";
import { RunFiles } from "./run_dir.ts";

const STATE = { max_steps: 4, logging_steps: 1, eval_steps: 0, save_steps: 1 };

Deno.test("removeStaleTemps: half-written folders and temp files go; a moved-aside checkpoint comes back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stale-temps-" });
  try {
    const mk = (name: string) => Deno.mkdir(join(dir, name), { recursive: true });
    await mk("checkpoint-1");
    await mk(".checkpoint-2.4242.k3x9.tmp"); // killed while writing checkpoint-2
    await mk(".checkpoint-3.4242.a1b2.tmp.old"); // killed between the two renames replacing checkpoint-3
    await mk(".checkpoint-1.4242.zz00.tmp.old"); // a stale copy: checkpoint-1 itself is there
    await Deno.writeTextFile(join(dir, ".trainer_state.json.4242.q7r8.tmp"), '{"glob');
    await Deno.writeTextFile(join(dir, ".keep"), "not ours");
    assertEquals(await listCheckpoints(dir), [1], { msg: "temp folders are never taken for checkpoints" });
    const gone = await removeStaleTemps(dir);
    assertEquals(gone, [
      ".checkpoint-1.4242.zz00.tmp.old",
      ".checkpoint-2.4242.k3x9.tmp",
      ".checkpoint-3.4242.a1b2.tmp.old",
      ".trainer_state.json.4242.q7r8.tmp",
    ]);
    assertEquals(await listCheckpoints(dir), [1, 3]);
    assertEquals(existsSync(join(dir, ".keep")), true);
    assertEquals(await removeStaleTemps(join(dir, "missing")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RunFiles.reset: a torn completions line is dropped and counted; metrics restart from the checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "torn-logs-" });
  try {
    const rec = (step: number) =>
      JSON.stringify({ step, prompt: "p", completion: "c", rewards: {}, reward: 0, advantage: 0 });
    await Deno.writeTextFile(
      join(dir, "completions.jsonl"),
      `${rec(1)}\n${rec(2)}\n${rec(3)}\n{"step": 3, "pro`,
    );
    await Deno.writeTextFile(
      join(dir, "metrics.jsonl"),
      '{"step":1,"loss":0.5}\n{"step":2,"loss":0.25}\n{"st',
    );
    const files = new RunFiles(dir, STATE);
    const torn = await files.reset([{ step: 1, loss: 0.5 }, { step: 2, loss: 0.25 }], 2);
    assertEquals(torn, 1);
    assertEquals(await Deno.readTextFile(join(dir, "completions.jsonl")), `${rec(1)}\n${rec(2)}\n`);
    assertEquals(
      await Deno.readTextFile(join(dir, "metrics.jsonl")),
      '{"step":1,"loss":0.5}\n{"step":2,"loss":0.25}\n',
    );
    const state = JSON.parse(await Deno.readTextFile(join(dir, "trainer_state.json")));
    assertEquals([state.global_step, state.log_history.length], [2, 2]);
    assertEquals(await new RunFiles(dir, STATE).reset([], 0), 0, { msg: "a fresh start keeps nothing" });
    assertEquals(await Deno.readTextFile(join(dir, "completions.jsonl")), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
