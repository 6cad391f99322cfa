import { join } from "node:path";
import { fakeMetrics, rowsOf } from "../analysis/fixtures.ts";
import { tableFromRows } from "../analysis/table.ts";
import { experimentStats, runStats } from "../analysis/stats.ts";
import type { Finding } from "../analysis/integrity.ts";
import { UserError } from "../util/errors.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { DISPLAY_SYMBOL } from "./display.ts";
import { readableTable } from "../analysis/html.ts";
import {
  completionSamples,
  completionsTable,
  completionsView,
  integrityView,
  rewardFunctionFigure,
  runCompletionsView,
  runFigures,
  sentencesView,
  statsTable,
  statsView,
} from "./results.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "notebook-results-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

const rewards = { math_hard: (s: number) => 0.1 * s, format: () => 0.25 };
const mathRun = fakeMetrics({
  experiment: "math_hard",
  seed: 1,
  steps: 6,
  rewards,
  evalEvery: 3,
  extra: { kl: (s) => 0.01 * s, "completions/mean_length": (s) => 40 + s },
});

Deno.test("runFigures: reward, reward per function (one figure per experiment), held-out, length, KL; the rest listed", () => {
  const table = tableFromRows([
    ...rowsOf(mathRun, "math_hard", 1),
    ...rowsOf(fakeMetrics({ experiment: "math_soft", seed: 1, steps: 6, evalEvery: 3 }), "math_soft", 1),
  ]);
  const { figures, omitted } = runFigures(table);
  assertEquals(figures.map((f) => f.id), [
    "reward",
    "reward_functions_math_hard",
    "reward_functions_math_soft",
    "held_out_accuracy",
    "length",
    "kl",
  ]);
  assertEquals(omitted, [], "only the judge fallback is missing, and it is optional");
  const only = runFigures(
    tableFromRows(rowsOf(fakeMetrics({ experiment: "x", seed: 0, evalMetric: null }), "x", 0)),
  );
  assertEquals(only.omitted.map((o) => o.id), ["held_out", "length", "kl"]);
});

Deno.test("rewardFunctionFigure: one smoothed line (and a faint raw one) for the total and each function", () => {
  const spec = rewardFunctionFigure(tableFromRows(rowsOf(mathRun, "math_hard", 1)), {
    experiment: "math_hard",
    smoothing: 0,
  });
  const named = spec.data.filter((t) => t.name);
  assertEquals(named.map((t) => t.name), ["total reward", "format", "math_hard"]);
  assertEquals(named[2].x, [1, 2, 3, 4, 5, 6]);
  const raw = mathRun.filter((r) => r.step > 0).map((r) => r["rewards/math_hard/mean"]);
  assertEquals(named[2].y, raw, "smoothing 0 leaves the values as logged");
  assertEquals(spec.data.length, 6);
  assertEquals(rewardFunctionFigure(tableFromRows([]), { experiment: "none" }).data, []);
});

Deno.test("completionSamples: first and last step; completionsTable escapes the text", async () => {
  const dir = join(ROOT, "run");
  await Deno.mkdir(dir, { recursive: true });
  const rec = (step: number, i: number) => ({
    step,
    prompt: `question ${step}.${i}`,
    completion: i === 0 ? "<answer>4</answer> & more" : `c${i}`,
    rewards: { math_hard: i === 0 ? 2 : 0, format: 0.25 },
    reward: i === 0 ? 2.25 : 0.25,
    advantage: i === 0 ? 1 : -1,
  });
  const lines = [1, 1, 1, 1, 2, 2, 3, 3, 3].map((s, k) => JSON.stringify(rec(s, k % 4)) + "\n");
  await Deno.writeTextFile(join(dir, "completions.jsonl"), lines.join(""));
  const picked = await completionSamples(dir, { n: 2 });
  assertEquals(picked.map((r) => `${r.step}:${r.prompt}`), [
    "1:question 1.0",
    "1:question 1.1",
    "3:question 3.2",
    "3:question 3.3",
  ]);
  const table = completionsTable(picked);
  assert(table.includes("&lt;answer&gt;4&lt;/answer&gt; &amp; more"), "completion text escaped");
  assert(
    table.includes("<th>math_hard</th><th>format</th><th>reward</th><th>advantage</th>"),
    table.slice(0, 300),
  );
  assertEquals(completionsTable([]), "<p>No completions logged.</p>");
  const view = completionsView(picked.slice(0, 1));
  assertEquals(view["text/plain"], 'step 1 · reward 2.25 · advantage 1: "<answer>4</answer> & more"');
  assertEquals(view["text/html"], readableTable(completionsTable(picked.slice(0, 1))));
  await assertRejects(() => completionSamples(join(ROOT, "none")), UserError, "completions.jsonl: missing");
  await Deno.writeTextFile(join(dir, "completions.jsonl"), '{"step": 1}\n');
  await assertRejects(() => completionSamples(dir), UserError, "record 1 has no numeric");
});

Deno.test("statsTable, integrityView, sentencesView: HTML plus readable plain text", () => {
  const stats = experimentStats(runStats(tableFromRows(rowsOf(mathRun, "math_hard", 1))));
  const html = statsTable(stats);
  assert(html.includes('<td>math_hard</td><td class="num">1</td>') && html.includes("(1 seed)"), html);
  assertEquals(statsTable([]), "<p>No statistics (no run logged a reward).</p>");
  const fb = new Map([[
    "ours/math_hard",
    "judge fallback: 100% of training judge calls came from the local fallback",
  ]]);
  assert(statsTable(stats, { caveats: fb }).includes("<td>math_hard ⚠ judge fallback: 100%"));
  assert(String(statsView(stats, { caveats: fb })["text/plain"]).startsWith("math_hard ⚠ judge fallback"));
  assert(
    /^math_hard \(1 seed\): reward [\d.]+ → [\d.]+, slope [\d.]+\/step; eval\/accuracy 0\.3 → 0\.312$/.test(
      String(statsView(stats)["text/plain"]),
    ),
    String(statsView(stats)["text/plain"]),
  );
  const f: Finding = {
    code: "all_zero_reward",
    severity: "error",
    experiment: "x",
    source: "ours",
    seed: 0,
    message: "x: <0> at every step.",
  };
  const info: Finding = { ...f, code: "missing_eval", severity: "info", message: "no eval" };
  const v = integrityView([info, f]);
  assertEquals(v["text/plain"], "ERROR [all_zero_reward] x: <0> at every step.\nINFO [missing_eval] no eval");
  assert(String(v["text/html"]).indexOf("ERROR") < String(v["text/html"]).indexOf("INFO"));
  assert(String(v["text/html"]).includes("1 error, 0 warnings, 1 info"));
  assert(String(v["text/html"]).includes("x: &lt;0&gt; at every step."));
  assertEquals(v[DISPLAY_SYMBOL](), { "text/html": v["text/html"], "text/plain": v["text/plain"] });
  assertEquals(integrityView([])["text/plain"], "No integrity problems found.");
  const s = sentencesView(["A went up.", "B & C"], { heading: "Findings" });
  assertEquals(s["text/plain"], "Findings:\n- A went up.\n- B & C");
  assert(String(s["text/html"]).startsWith("<h3>Findings</h3><ul><li>A went up.</li><li>B &amp; C</li>"));
  assertEquals(sentencesView([])["text/plain"], "No findings: no statistics could be computed.");
});

Deno.test("runCompletionsView: training and held-out completions of runs in one filterable viewer", async () => {
  const dirs: string[] = [];
  for (const [experiment, right] of [["math_hard", [true, true]], ["math_soft", [true, false]]] as const) {
    const dir = join(ROOT, "viewer", experiment);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "run_config.json"), JSON.stringify({ experiment, seed: 5 }));
    await Deno.writeTextFile(join(dir, "metrics.jsonl"), JSON.stringify({ step: 1, reward: 1 }) + "\n");
    await Deno.writeTextFile(
      join(dir, "completions.jsonl"),
      JSON.stringify({
        step: 1,
        prompt: "p",
        completion: "c",
        rewards: {},
        reward: 1,
        advantage: 0,
        gold: "7",
      }) + "\n",
    );
    await Deno.writeTextFile(
      join(dir, "eval_completions.jsonl"),
      right.map((correct, id) =>
        JSON.stringify({ step: 2, id, prompt: `q${id}`, completion: "a", gold: "1", correct })
      )
        .join("\n") + "\n",
    );
    dirs.push(dir);
  }
  const v = await runCompletionsView(dirs);
  assertEquals(
    v["text/plain"],
    "6 completions (4 held-out, 2 on problems where the runs disagree); open in Jupyter or the HTML export to filter them",
  );
  const html = String(v["text/html"]);
  assert(html.includes("only where the models disagree") && html.includes("math_soft seed 5"));
  assertEquals((html.match(/data-disagree="1"/g) ?? []).length, 2);
});

Deno.test("runFigures: a run scored by the judge fallback is named in its figures", () => {
  const recs = fakeMetrics({
    experiment: "dialogue_hard",
    seed: 0,
    steps: 6,
    extra: { "judge/fallback_frac": () => 1 },
  });
  const { figures } = runFigures(tableFromRows(rowsOf(recs, "dialogue_hard", 0)));
  const named = figures.filter((f) => JSON.stringify(f.spec).includes("judge fallback"));
  assert(named.length >= 3, figures.map((f) => f.id).join(", "));
  assert(
    JSON.stringify(figures.find((f) => f.id === "reward_functions_dialogue_hard")!.spec.layout).includes(
      "⚠ judge fallback",
    ),
  );
});
