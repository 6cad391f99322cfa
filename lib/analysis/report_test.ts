import { join } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import { fakeMetrics, rowsOf, writeFakeRun } from "./fixtures.ts";
import { escapeHtml, inlineScript, scriptJson } from "./html.ts";
import { loadRuns } from "./load.ts";
import { comparisonView } from "./comparison_view.ts";
import { renderReport, writeReport } from "./report.ts";
import { plotlyBundlePath } from "./plotly_html.ts";
import { tableFromRows } from "./table.ts";

const TRL = fileURLToPath(new URL("../../../shared/data/trl-logs", import.meta.url));
const hasTrl = existsSync(TRL);
if (!hasTrl) console.warn(`skipping TRL-log report tests: ${TRL} not found`);
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (!CHROMIUM) console.warn("skipping the headless-Chromium render test: chromium not installed");

Deno.test("html helpers escape markup and keep inline scripts closed", () => {
  assertEquals(escapeHtml(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  assertEquals(scriptJson({ t: "</script><b>" }), '{"t":"\\u003c/script>\\u003cb>"}');
  assertEquals(JSON.parse(scriptJson({ t: "</script>" })).t, "</script>");
  assertEquals(inlineScript('var s = "</SCRIPT>";'), 'var s = "<\\/SCRIPT>";');
});

Deno.test("renderReport: integrity first, findings from the statistics, figure placeholders, no external resources", () => {
  const rows = [0, 1].flatMap((seed) =>
    rowsOf(
      fakeMetrics({ experiment: "math_hard", seed, steps: 20, noise: 0, evalValue: (s) => 0.3 + 0.005 * s }),
      { experiment: "math_hard", seed: seed },
    )
  );
  rows.push(
    ...rowsOf(fakeMetrics({ experiment: "math_soft", seed: 0, steps: 20, evalMetric: null }), {
      experiment: "math_soft",
      seed: 0,
    }),
  );
  const { html, summary } = renderReport(tableFromRows(rows), {
    title: "T <test>",
    plotlySource: "window.Plotly = { newPlot: function () {} };",
  });
  assert(html.includes("<title>T &lt;test&gt;</title>"));
  const order = ["<h2>Integrity checks</h2>", "<h2>Findings</h2>", "<h2>Statistics</h2>", "<h2>Figures</h2>"]
    .map((h) => html.indexOf(h));
  assert(order.every((x, i) => x > 0 && (i === 0 || x > order[i - 1])), `section order ${order}`);
  assertEquals(summary.integrity.map((f) => [f.code, f.experiment]), [["missing_eval", "math_soft"]]);
  assert(summary.sentences.includes(
    "math_hard raised held-out accuracy by 10.0 points (95% CI 10.0 to 10.0, 2 seeds), from 30.0% to 40.0%.",
  ));
  for (const s of summary.sentences) assert(html.includes(escapeHtml(s)), s);
  assertEquals((html.match(/<div class="figure" id="fig-\d+"/g) ?? []).length, summary.figures);
  assert(summary.figures >= 5);
  assert(!/<script[^>]+src=|<link[^>]+href=|@import|url\(http/i.test(html), "no external resources");
});

Deno.test("writeReport: writes one file atomically with plotly inlined; a missing bundle is a UserError", async () => {
  const dir = await Deno.makeTempDir();
  await writeFakeRun(join(dir, "outputs"), { experiment: "math_hard", seed: 0, steps: 12 });
  const { table } = await loadRuns(join(dir, "outputs"));
  const out = join(dir, "rep", "report.html");
  const s = await writeReport(table, { path: out });
  const html = await Deno.readTextFile(out);
  assertEquals(s.bytes, new TextEncoder().encode(html).length);
  assert(s.bytes > 3_000_000 && s.bytes < 6_000_000, "the minified plotly.js is inlined");
  assertEquals([...Deno.readDirSync(join(dir, "rep"))].map((e) => e.name), ["report.html"]);
  assert(plotlyBundlePath().endsWith("plotly.min.js"));
  await assertRejects(() => writeReport(table, { path: out, plotlyPath: join(dir, "none.js") }), {
    cls: UserError,
    includes: "none.js: cannot read plotly.js",
  });
});

Deno.test({
  name: "report of the TRL logs renders every plotly figure in headless Chromium",
  ignore: !hasTrl || !CHROMIUM,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const loaded = await loadRuns(TRL);
    const path = join(dir, "report.html");
    const summary = await writeReport(loaded.table, { path, loaded, title: "TRL logs" });
    assert(summary.integrity.some((f) => f.code === "identical_reward_columns"));
    const cmd = new Deno.Command(CHROMIUM!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${join(dir, "profile")}`,
        "--virtual-time-budget=5000",
        "--dump-dom",
        `file://${path}`,
      ],
      stdout: "piped",
      stderr: "piped",
    });
    const res = await cmd.output();
    const dom = new TextDecoder().decode(res.stdout);
    assert(res.success, `chromium failed: ${new TextDecoder().decode(res.stderr).slice(-500)}`);
    const plots = (dom.match(/class="[^"]*js-plotly-plot/g) ?? []).length;
    const svgs = (dom.match(/class="main-svg"/g) ?? []).length;
    assertEquals(plots, summary.figures, { msg: "every figure div became a plotly plot" });
    assert(svgs >= summary.figures, `main-svg count ${svgs} < ${summary.figures}`);
    assert(dom.includes("identical_reward_columns"));
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("renderReport: severity-sorted integrity, settings table and diff, paired comparisons, caveats in cells, completions viewer, Testing results", () => {
  const rows = [
    ...rowsOf(fakeMetrics({ experiment: "math_hard", seed: 0, steps: 20 }), {
      experiment: "math_hard",
      seed: 0,
    }),
    ...rowsOf(
      fakeMetrics({
        experiment: "dialogue_soft",
        seed: 0,
        steps: 20,
        evalMetric: null,
        extra: { "judge/fallback_frac": () => 1 },
      }),
      { experiment: "dialogue_soft", seed: 0 },
    ),
  ];
  const rec = (step: number, id: number, correct: boolean) => ({
    step,
    id,
    prompt: `q${id}`,
    completion: "c",
    gold: "1",
    correct,
  });
  const evalRuns = [{
    source: "ours" as const,
    experiment: "math_hard",
    seed: 0,
    records: [
      ...Array.from({ length: 50 }, (_, i) => rec(0, i, i < 20)),
      ...Array.from({ length: 50 }, (_, i) => rec(20, i, i < 22)),
    ],
  }];
  const info = (experiment: string, lr: number) => ({
    path: `${experiment}/metrics.jsonl`,
    source: "ours" as const,
    experiment,
    seed: 0,
    steps: 20,
    metrics: 5,
    tornLines: 0,
    skipped: {},
    replaced: 0,
    config: { model: "tiny", learning_rate: lr, eval_size: 50 },
  });
  const { html, summary } = renderReport(tableFromRows(rows), {
    plotlySource: "window.Plotly = { newPlot: function () {} };",
    loaded: { runs: [info("math_hard", 1e-5), info("dialogue_soft", 5e-5)], warnings: [] },
    evalRuns,
    testingHtml: "<table><tr><td>testing-marker</td></tr></table>",
  });
  const sev = summary.integrity.map((f) => f.severity);
  assertEquals(
    sev,
    [...sev].sort((a, b) =>
      ["error", "warning", "info"].indexOf(a) - ["error", "warning", "info"].indexOf(b)
    ),
  );
  assertEquals(sev[0], "error"); // judge_fallback
  assert(summary.integrity.some((f) => f.code === "settings_differ"));
  assert(html.includes("<h2>Settings of the compared runs</h2>") && html.includes("Config diff"));
  assert(html.indexOf("Settings of the compared runs") < html.indexOf("<h2>Findings</h2>"));
  assertEquals(summary.paired.map((p) => [p.a, p.b, p.diff.n]), [["math_hard", "base model", 50]]);
  const s = summary.sentences.find((x) => x.startsWith("math_hard vs its base model"))!;
  assert(s.includes("+4.0 points") && s.includes("not distinguishable"), s);
  for (const x of summary.sentences.filter((x) => x.includes("dialogue_soft"))) {
    assert(x.includes("caveat: judge fallback"), x);
  }
  assert(html.includes("dialogue_soft ⚠ judge fallback"), "experiment table cell names the fallback");
  assert(html.includes('class="completions-viewer"') && html.includes("testing-marker"));
  assert(html.includes("ERROR</b> <code>judge_fallback</code>"));
});

Deno.test("renderReport shows the sections comparisonView builds (the Comparison notebook shows the same), verdicts included", () => {
  const rows = [0, 1].flatMap((seed) =>
    rowsOf(fakeMetrics({ experiment: "math_hard", seed, steps: 12 }), { experiment: "math_hard", seed: seed })
  );
  const table = tableFromRows(rows);
  const { html } = renderReport(table, { plotlySource: "" });
  const view = comparisonView(table);
  for (
    const s of [view.integrity, view.settings, view.findings, view.verdicts, view.statistics, view.paired]
  ) {
    assert(html.includes(s.html), `${s.id} is in the report as the notebook shows it`);
  }
  assert(html.includes("<h2>Verdicts</h2>") && html.includes("<th>stability</th>"));
  assert(!html.includes("<h2>Data loaded</h2>"), "nothing loaded was given");
});
