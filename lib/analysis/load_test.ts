import { join } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { RUN_FILES, UserError } from "../util/mod.ts";
import { writeFakeRun } from "./fixtures.ts";
import { describeLoaded, loadEvalRecords, loadRuns } from "./load.ts";
import { normalizeMetricName, rewardFunctions } from "./table.ts";

const TRL = fileURLToPath(new URL("../../../shared/data/trl-logs", import.meta.url));
const hasTrl = existsSync(TRL);
if (!hasTrl) console.warn(`skipping TRL-log tests: ${TRL} not found`);

Deno.test("normalizeMetricName: all TRL reward conventions map to rewards/<fn>/{mean,std}", () => {
  assertEquals(normalizeMetricName("rewards/f/mean"), "rewards/f/mean");
  assertEquals(normalizeMetricName("rewards/f/std"), "rewards/f/std");
  assertEquals(normalizeMetricName("rewards/f"), "rewards/f/mean");
  assertEquals(normalizeMetricName("rewards/f/mean#2"), "rewards/f#2/mean");
  assertEquals(normalizeMetricName("rewards/f/std#2"), "rewards/f#2/std");
  assertEquals(normalizeMetricName("rewards/f#3"), "rewards/f#3/mean");
  assertEquals(normalizeMetricName("kl"), "kl");
  assertEquals(rewardFunctions(["rewards/g#2/mean", "rewards/g/mean", "rewards/a/std", "reward"]), [
    "g",
    "g#2",
  ]);
});

Deno.test({
  name: "loadRuns: the real TRL logs load as tidy rows, 'No Log' values counted",
  ignore: !hasTrl,
  fn: async () => {
    const loaded = await loadRuns(TRL);
    const t = loaded.table;
    assertEquals(t.columnNames(), ["source", "experiment", "seed", "step", "metric", "value"]);
    assertEquals(
      loaded.runs.map((r) => r.experiment).sort(),
      ["dialogue_hard", "dialogue_perplexity", "math_hard", "math_perplexity"],
    );
    for (const r of loaded.runs) {
      assertEquals([r.source, r.seed, r.steps], ["trl", 0, 100]);
      assertEquals(r.skipped, { entropy: 99 });
    }
    const metrics = new Set(t.array("metric") as string[]);
    assert(metrics.has("rewards/wrapped_func#2/mean") && metrics.has("rewards/math_hard_reward/mean"));
    assert(!metrics.has("step"));
    const n = t.params({ e: "math_hard" }).filter((
      d: { experiment: string; metric: string },
      $: { e: string },
    ) => d.experiment === $.e && d.metric === "reward").numRows();
    assertEquals(n, 100);
    assertEquals(loaded.warnings.length, 4);
    assert(loaded.warnings[0].includes('skipped 99 non-numeric values of "entropy"'));
  },
});

Deno.test("loadRuns: our output folders (seeds nested), torn last line counted, run_config names the run", async () => {
  const root = await Deno.makeTempDir();
  await writeFakeRun(join(root, "outputs"), { experiment: "math_hard", seed: 0, steps: 10 });
  const d1 = await writeFakeRun(join(root, "outputs"), { experiment: "math_hard", seed: 1, steps: 10 });
  await Deno.writeTextFile(join(d1, "metrics.jsonl"), '{"step": 11, "rew', { append: true });
  // A checkpoint folder inside a run is not a second run.
  await Deno.mkdir(join(d1, "checkpoint-5"));
  await Deno.writeTextFile(join(d1, "checkpoint-5", "trainer_state.json"), "{}");
  const loaded = await loadRuns(join(root, "outputs"), { relativeTo: root });
  assertEquals(loaded.runs.map((r) => [r.experiment, r.seed, r.source, r.steps]), [
    ["math_hard", 0, "ours", 11],
    ["math_hard", 1, "ours", 11],
  ]);
  assertEquals(loaded.runs[1].tornLines, 1);
  assertEquals(loaded.runs[1].path, "outputs/math_hard/seed_1/metrics.jsonl");
  assertEquals(loaded.warnings, [
    "math_hard seed 1 (outputs/math_hard/seed_1/metrics.jsonl): dropped 1 torn last line of metrics.jsonl",
  ]);
  assert(describeLoaded(loaded)[0].startsWith("math_hard seed 0: 11 steps"));
  const evalRows = loaded.table.filter((d: { metric: string }) => d.metric === "eval/accuracy").numRows();
  assertEquals(evalRows, 4); // steps 0 and 10, two seeds
});

Deno.test("loadRuns: a re-logged step keeps the later value and is counted", async () => {
  const dir = join(await Deno.makeTempDir(), "run");
  await Deno.mkdir(dir);
  await Deno.writeTextFile(join(dir, "run_config.json"), JSON.stringify({ experiment: "x", seed: 2 }));
  await Deno.writeTextFile(join(dir, "metrics.jsonl"), '{"step":1,"reward":1}\n{"step":1,"reward":3}\n');
  const loaded = await loadRuns(dir);
  assertEquals(loaded.runs[0].replaced, 1);
  assertEquals(loaded.table.array("value"), [3]);
  assert(loaded.warnings[0].includes("1 values of re-logged steps replaced"));
});

Deno.test("loadRuns: bad or missing files are UserErrors naming the file", async () => {
  const root = await Deno.makeTempDir();
  const run = join(root, "a");
  await Deno.mkdir(run);
  await Deno.writeTextFile(join(run, "metrics.jsonl"), '{"step":1,"reward":1}\n');
  await assertRejects(() => loadRuns(run), {
    cls: UserError,
    includes: `${join(run, "run_config.json")}: missing`,
  });
  await Deno.writeTextFile(join(run, "run_config.json"), '{"experiment": "x", "seed": "one"}');
  await assertRejects(() => loadRuns(run), {
    cls: UserError,
    includes: 'run_config.json: field "seed" must be an integer',
  });
  await Deno.writeTextFile(join(run, "run_config.json"), '{"experiment": "x", "seed": 1}');
  await Deno.writeTextFile(join(run, "metrics.jsonl"), '{"reward":1}\n{"step":2}\n');
  await assertRejects(() => loadRuns(run), {
    cls: UserError,
    includes: 'metrics.jsonl: record 1: missing numeric "step"',
  });
  await Deno.writeTextFile(join(run, "metrics.jsonl"), '{"step":1}\nnope\n{"step":2}\n');
  await assertRejects(() => loadRuns(run), {
    cls: UserError,
    includes: "metrics.jsonl: line 2: not valid JSON",
  });

  const trl = join(root, "trl");
  await Deno.mkdir(trl);
  await Deno.writeTextFile(join(trl, "m.trainer_state.json"), "{ not json");
  await assertRejects(() => loadRuns(trl), {
    cls: UserError,
    includes: "m.trainer_state.json: not valid JSON",
  });
  await Deno.writeTextFile(join(trl, "m.trainer_state.json"), '{"global_step": 3}');
  await assertRejects(() => loadRuns(trl), {
    cls: UserError,
    includes: 'm.trainer_state.json: expected a TRL trainer state with a "log_history"',
  });
  await Deno.writeTextFile(join(trl, "m.trainer_state.json"), '{"log_history": [{"step": 1, "reward": 1}]}');
  await assertRejects(() => loadRuns([trl, join(trl, "m.trainer_state.json")]), {
    cls: UserError,
    includes: "m (TRL log) seed 0 was already loaded",
  });

  await assertRejects(() => loadRuns(join(root, "nope")), {
    cls: UserError,
    includes: "nope: no such file or folder",
  });
  const empty = join(root, "empty");
  await Deno.mkdir(empty);
  await assertRejects(() => loadRuns(empty), { cls: UserError, includes: "no runs found" });
  assertEquals((await loadRuns(empty, { allowEmpty: true })).table.numRows(), 0);
  await Deno.writeTextFile(join(root, "notes.txt"), "hi");
  await assertRejects(() => loadRuns(join(root, "notes.txt")), {
    cls: UserError,
    includes: "notes.txt: not a run file",
  });
});

Deno.test("loadRuns: an empty metrics.jsonl (run just started) is skipped with a warning", async () => {
  const root = await Deno.makeTempDir();
  await writeFakeRun(root, { experiment: "math_soft", seed: 0, steps: 4 });
  const fresh = join(root, "math_soft", "seed_1");
  await Deno.mkdir(fresh);
  await Deno.writeTextFile(
    join(fresh, "run_config.json"),
    JSON.stringify({ experiment: "math_soft", seed: 1 }),
  );
  await Deno.writeTextFile(join(fresh, "metrics.jsonl"), "");
  const loaded = await loadRuns(root);
  assertEquals(loaded.runs.length, 1);
  assert(loaded.warnings.some((w) => w.includes("seed_1/metrics.jsonl: no steps logged yet, run skipped")));
});

Deno.test("loadEvalRecords: per-example held-out logs of our runs, torn and malformed lines counted", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeFakeRun(root, { experiment: "math_hard", seed: 3 });
    await writeFakeRun(root, { experiment: "math_soft", seed: 3 }); // no eval log: left out
    const rec = (step: number, id: number, correct: boolean) =>
      JSON.stringify({ step, id, prompt: `q${id}`, completion: "c", gold: "1", correct });
    await Deno.writeTextFile(
      join(dir, RUN_FILES.evalCompletions),
      [
        rec(0, 0, false),
        rec(0, 1, true),
        rec(5, 0, true),
        JSON.stringify({ step: 5, id: 1 }),
        rec(5, 1, true),
      ]
        .join("\n") + "\n" + '{"step": 5, "id"',
    );
    const loaded = await loadRuns(root);
    assertEquals(loaded.runs.find((r) => r.experiment === "math_hard")!.config, { steps: 20, max_steps: 20 });
    const { runs, warnings } = await loadEvalRecords(loaded);
    assertEquals(runs.map((r) => [r.experiment, r.seed, r.records.length]), [["math_hard", 3, 4]]);
    assertEquals(warnings.length, 2);
    assert(warnings[0].includes("dropped 1 torn last line") && warnings[1].includes("skipped 1 malformed"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadRuns follows symbolic links: a folder of links to run folders loads each run once", async () => {
  const root = await Deno.makeTempDir({ prefix: "load-links-" });
  try {
    const a = await writeFakeRun(join(root, "runs"), { experiment: "math_hard", seed: 1, steps: 4 });
    const b = await writeFakeRun(join(root, "runs"), { experiment: "math_soft", seed: 2, steps: 4 });
    const links = join(root, "links");
    await Deno.mkdir(links);
    await Deno.symlink(a, join(links, "first"));
    await Deno.symlink(b, join(links, "second"));
    await Deno.symlink(links, join(links, "loop")); // a cycle is read once
    const loaded = await loadRuns(links);
    assertEquals(loaded.runs.map((r) => [r.experiment, r.seed]), [["math_hard", 1], ["math_soft", 2]]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
