import { assert, assertEquals } from "../util/assert.ts";
import { configDiff, settingsFindings, settingsTable } from "./settings.ts";

const run = (experiment: string, config: Record<string, unknown>) => ({
  source: "ours" as const,
  experiment,
  seed: 0,
  config: {
    model: "tiny",
    learning_rate: 1e-5,
    eval_size: 100,
    output_dir: `outputs/${experiment}`,
    ...config,
  },
});

Deno.test("settings: runs whose key settings differ are flagged; the diff lists every differing option", () => {
  const runs = [
    run("math_hard", {}),
    run("math_soft", {}),
    run("math_perplexity", { learning_rate: 5e-5, eval_size: 50 }),
  ];
  const f = settingsFindings(runs);
  assertEquals(f.length, 1);
  assertEquals([f[0].code, f[0].severity, f[0].experiment], [
    "settings_differ",
    "warning",
    "math_perplexity",
  ]);
  assert(f[0].message.includes("learning_rate = 0.00005 (others: 0.00001)"), f[0].message);
  assert(f[0].message.includes("eval_size = 50 (others: 100)"), f[0].message);
  assertEquals(configDiff(runs).map((d) => d.key), ["eval_size", "learning_rate"]);
  const t = settingsTable(runs);
  assertEquals(t.header.slice(0, 2), ["run", "model"]);
  assertEquals(t.rows[2][0], "math_perplexity seed 0");
  assertEquals(settingsFindings([runs[0], runs[1]]), []);
  // Two runs that differ: no common value, so both are flagged.
  const two = settingsFindings([runs[0], runs[2]]);
  assertEquals(two.map((x) => x.experiment), ["math_hard", "math_perplexity"]);
  assert(two[0].message.includes("eval_size = 100 (others: 50)"), two[0].message);
});
