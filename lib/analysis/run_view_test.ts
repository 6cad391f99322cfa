import { join } from "node:path";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import { DISPLAY_SYMBOL, UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { runFigures } from "./dashboard.ts";
import { readableTable } from "./html.ts";
import type { Finding } from "./integrity.ts";
import { rewardFunctionFigure } from "./reward_figures.ts";
import { completionSamples, runResultsView } from "./run_view.ts";
import {
  completionsTable,
  integritySection,
  samplesSection,
  sentencesSection,
  statisticsSection,
  studyStatistics,
} from "./sections.ts";
import { experimentStatsTable } from "./stats_tables.ts";
import { tableFromRows } from "./table.ts";

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
    ...rowsOf(mathRun, { experiment: "math_hard", seed: 1 }),
    ...rowsOf(fakeMetrics({ experiment: "math_soft", seed: 1, steps: 6, evalEvery: 3 }), {
      experiment: "math_soft",
      seed: 1,
    }),
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
  assertEquals(omitted, [], { msg: "only the judge fallback is missing, and it is optional" });
  const only = runFigures(
    tableFromRows(
      rowsOf(fakeMetrics({ experiment: "x", seed: 0, evalMetric: null }), { experiment: "x", seed: 0 }),
    ),
  );
  assertEquals(only.omitted.map((o) => o.id), ["held_out", "length", "kl"]);
});

Deno.test("rewardFunctionFigure: one line for the total and each function (a faint raw one when smoothed)", () => {
  const table = tableFromRows(rowsOf(mathRun, { experiment: "math_hard", seed: 1 }));
  const spec = rewardFunctionFigure(table, { experiment: "math_hard", smoothing: 0 });
  const named = spec.data.filter((t) => t.name);
  assertEquals(named.map((t) => t.name), ["total reward", "format", "math_hard"]);
  assertEquals(named[2].x, [1, 2, 3, 4, 5, 6]);
  const raw = mathRun.filter((r) => r.step > 0).map((r) => r["rewards/math_hard/mean"]);
  assertEquals(named[2].y, raw, { msg: "smoothing 0 leaves the values as logged" });
  assertEquals(spec.data.length, 3, { msg: "nothing to draw faintly when unsmoothed" });
  const smoothed = rewardFunctionFigure(table, { experiment: "math_hard", smoothing: 0.8 });
  assertEquals(smoothed.data.length, 6, { msg: "each smoothed line with its faint raw one" });
  assertEquals([smoothed.data[4].name, smoothed.data[4].y], [undefined, raw]);
  assertEquals(smoothed.data[5].name, "math_hard");
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
  const view = samplesSection([{ label: "math_hard seed 1", records: picked.slice(0, 1) }]);
  assertEquals(view.plain, 'step 1 · reward 2.25 · advantage 1: "<answer>4</answer> & more"');
  assertEquals(view[DISPLAY_SYMBOL]()["text/html"], readableTable(completionsTable(picked.slice(0, 1))));
  const two = samplesSection([{ label: "a", records: picked.slice(0, 1) }, { label: "b", records: [] }]);
  assertEquals(
    two.plain,
    'a:\nstep 1 · reward 2.25 · advantage 1: "<answer>4</answer> & more"\nb:\nNo completions logged.',
  );
  assert(two.html.includes("<h4>a</h4>") && two.html.includes("<h4>b</h4><p>No completions logged.</p>"));
  await assertRejects(() => completionSamples(join(ROOT, "none")), {
    cls: UserError,
    includes: "completions.jsonl: missing",
  });
  await Deno.writeTextFile(join(dir, "completions.jsonl"), '{"step": 1}\n');
  await assertRejects(() => completionSamples(dir), { cls: UserError, includes: "record 1 has no numeric" });
});

Deno.test("statistics, integrity and sentence sections: HTML (stability included) plus readable plain text", () => {
  const stats = studyStatistics(tableFromRows(rowsOf(mathRun, { experiment: "math_hard", seed: 1 })));
  const html = experimentStatsTable(stats.experiments);
  assert(html.includes('<td>math_hard</td><td class="num">1</td>') && html.includes("(1 seed)"), html);
  assert(html.includes("<th>stability</th>"), "the stability column");
  assertEquals(experimentStatsTable([]), "<p>No statistics (no run logged a reward).</p>");
  const fb = new Map([[
    "ours/math_hard",
    "judge fallback: 100% of training judge calls came from the local fallback",
  ]]);
  const withFb = statisticsSection(stats, { caveats: fb });
  assert(withFb.html.includes("<td>math_hard ⚠ judge fallback: 100%"));
  assert(withFb.html.includes("Per run") && withFb.html.includes("Comparisons between experiments"));
  assert(withFb.plain.startsWith("math_hard ⚠ judge fallback"));
  const plain = statisticsSection(stats).plain;
  assert(
    /^math_hard \(1 seed\): reward [\d.]+ → [\d.]+, slope [\d.]+\/step, stability [\d.]+; eval\/accuracy 0\.3 → 0\.312$/
      .test(plain),
    plain,
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
  const v = integritySection([info, f], { caveats: fb });
  assertEquals(
    v.plain,
    "ERROR [all_zero_reward] x: <0> at every step.\nINFO [missing_eval] no eval\n" +
      "ours/math_hard: ⚠ judge fallback: 100% of training judge calls came from the local fallback",
  );
  assert(v.html.indexOf("ERROR") < v.html.indexOf("INFO"));
  assert(v.html.includes("1 error, 0 warnings, 1 info"));
  assert(v.html.includes("x: &lt;0&gt; at every step.") && v.html.includes("<b>ours/math_hard</b>: ⚠"));
  assertEquals(v[DISPLAY_SYMBOL](), { "text/html": v.html, "text/plain": v.plain });
  assertEquals(integritySection([]).plain, "No integrity problems found.");
  const s = sentencesSection(["A went up.", "B & C"], { id: "findings", title: "Findings" });
  assertEquals(s.plain, "Findings:\n- A went up.\n- B & C");
  assertEquals(s.html, '<ul class="sentences"><li>A went up.</li>\n<li>B &amp; C</li></ul>');
  assertEquals(
    sentencesSection([], { id: "findings", title: "Findings" }).plain,
    "Findings:\nNo findings: no statistics could be computed.",
  );
});

Deno.test("runResultsView: the comparison's sections of the runs, samples, and one viewer of training and held-out completions", async () => {
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
  const view = await runResultsView(dirs, { log: () => {} });
  const v = view.completions;
  assertEquals(
    v.plain,
    "6 completions (4 held-out, 2 on problems where the runs disagree); open in Jupyter or the HTML export to filter them",
  );
  const html = v.html;
  assert(html.includes("only where the models disagree") && html.includes("math_soft seed 5"));
  assertEquals((html.match(/data-disagree="1"/g) ?? []).length, 2);
  assertEquals(view.runs.map((r) => r.experiment), ["math_hard", "math_soft"]);
  assert(view.samples.plain.startsWith("math_hard seed 5:\nstep 1 · reward 1"), view.samples.plain);
  assert(
    view.paired.plain.startsWith("math_hard vs math_soft, held-out accuracy on the same 2 problems"),
    view.paired.plain,
  );
  assert(view.findings.plain.startsWith("Findings:\n- "), view.findings.plain);
  assertEquals(view.figures.figures[0].id, "reward");
});

Deno.test("runFigures: a run scored by the judge fallback is named in its figures", () => {
  const recs = fakeMetrics({
    experiment: "dialogue_hard",
    seed: 0,
    steps: 6,
    extra: { "judge/fallback_frac": () => 1 },
  });
  const { figures } = runFigures(tableFromRows(rowsOf(recs, { experiment: "dialogue_hard", seed: 0 })));
  const named = figures.filter((f) => JSON.stringify(f.spec).includes("judge fallback"));
  assert(named.length >= 3, figures.map((f) => f.id).join(", "));
  assert(
    JSON.stringify(figures.find((f) => f.id === "reward_functions_dialogue_hard")!.spec.layout).includes(
      "⚠ judge fallback",
    ),
  );
});
