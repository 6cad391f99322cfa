import { existsSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../util/assert.ts";
import { chromiumDumpDom } from "../analysis/mod.ts";
import { makeNotebook, writeNotebook } from "./nbformat.ts";
import { runNotebook } from "./runner.ts";

const NBCONVERT = ["/usr/bin/jupyter-nbconvert", "/usr/local/bin/jupyter-nbconvert"].find((p) =>
  existsSync(p)
);
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (!NBCONVERT) console.warn("skipping the nbconvert figure test: jupyter-nbconvert not installed");
if (!CHROMIUM) console.warn("skipping the nbconvert figure test: chromium not installed");

const ANALYSIS = new URL("../analysis/mod.ts", import.meta.url).href;
const COMPARISON = new URL("../../notebooks/Comparison.ipynb", import.meta.url).pathname;

async function toHtmlDom(ipynb: string, dir: string): Promise<string> {
  const conv = await new Deno.Command(NBCONVERT!, {
    args: ["--to", "html", "--output-dir", join(dir, "html"), ipynb],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(conv.success, new TextDecoder().decode(conv.stderr).slice(-800));
  const name = ipynb.slice(ipynb.lastIndexOf("/") + 1).replace(/\.ipynb$/, ".html");
  const dom = await chromiumDumpDom(CHROMIUM!, join(dir, "html", name), {
    profileDir: join(dir, "profile"),
    budgetMs: 10_000,
  });
  assert(dom.success, dom.stderr.slice(-500));
  return dom.dom;
}

Deno.test({
  name: "an executed notebook's figures show in `jupyter nbconvert --to html` rendered by headless Chromium",
  ignore: !NBCONVERT || !CHROMIUM,
  fn: async () => {
    // Inside the repository (under the ignored outputs/), so the kernel finds deno.json's imports.
    const root = new URL("../../outputs/", import.meta.url).pathname;
    await Deno.mkdir(root, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: root, prefix: "nbconvert-test-" });
    try {
      const path = join(dir, "notebooks", "Figures.ipynb");
      await writeNotebook(
        path,
        makeNotebook([
          { type: "markdown", source: "# Figures" },
          {
            type: "code",
            source: `import { showFigure } from "${ANALYSIS}";
await showFigure({ data: [{ type: "bar", x: ["a", "b"], y: [1, 2] }], layout: { title: { text: "one" } } });`,
          },
          {
            type: "code",
            source:
              `await showFigure({ data: [{ type: "scatter", x: [1, 2], y: [3, 1] }], layout: { title: { text: "two" } } });`,
          },
        ]),
      );
      const res = await runNotebook(path, { outDir: join(dir, "out"), log: () => {}, onStream: () => {} });
      assert(res.ok, `run failed: ${JSON.stringify(res.error)}`);
      const conv = await new Deno.Command(NBCONVERT!, {
        args: ["--to", "html", "--output-dir", join(dir, "html"), res.outPath],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(conv.success, new TextDecoder().decode(conv.stderr).slice(-800));
      const html = join(dir, "html", "Figures.html");
      const dom = await chromiumDumpDom(CHROMIUM!, html, {
        profileDir: join(dir, "profile"),
        budgetMs: 8000,
      });
      const text = dom.dom;
      assert(dom.success, dom.stderr.slice(-500));
      const svgs = (text.match(/class="main-svg"/g) ?? []).length;
      const plots = (text.match(/class="[^"]*js-plotly-plot/g) ?? []).length;
      assert(plots === 2, `expected 2 drawn plotly figures in the nbconvert HTML, found ${plots}`);
      assert(svgs >= 2, `svg.main-svg count ${svgs}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the executed Comparison notebook's nbconvert HTML shows every figure in headless Chromium",
  ignore: !NBCONVERT || !CHROMIUM,
  fn: async () => {
    const root = new URL("../../outputs/", import.meta.url).pathname;
    await Deno.mkdir(root, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: root, prefix: "nbconvert-comparison-test-" });
    try {
      const { writeFakeRun } = await import("../analysis/fixtures.ts");
      for (const e of ["math_hard", "math_soft"]) {
        const run = await writeFakeRun(join(dir, "runs"), { experiment: e, seed: 42, steps: 20 });
        await Deno.writeTextFile(
          join(run, "run_config.json"),
          JSON.stringify({ experiment: e, seed: 42, config: { max_steps: 20, model: "tiny", eval_size: 4 } }),
        );
        const recs = [0, 10, 20].flatMap((step) =>
          [0, 1, 2, 3].map((id) =>
            JSON.stringify({
              step,
              id,
              prompt: `q${id}`,
              completion: "c",
              gold: "1",
              correct: step > 0 && id < 2,
            })
          )
        );
        await Deno.writeTextFile(join(run, "eval_completions.jsonl"), recs.join("\n") + "\n");
      }
      const res = await runNotebook(COMPARISON, {
        params: { outputs_dir: join(dir, "runs"), trl_logs: null, report_path: join(dir, "report.html") },
        outDir: join(dir, "out"),
        log: () => {},
        onStream: () => {},
      });
      assert(res.ok, `run failed: ${JSON.stringify(res.error)}`);
      const nb = JSON.parse(await Deno.readTextFile(res.outPath));
      const figures = nb.cells.flatMap((c: { outputs?: { data?: Record<string, unknown> }[] }) =>
        c.outputs ?? []
      )
        .filter((o: { data?: Record<string, unknown> }) => o.data?.["application/vnd.plotly.v1+json"]).length;
      assert(figures >= 4, `${figures} plotly outputs`);
      const dom = await toHtmlDom(res.outPath, dir);
      const plots = (dom.match(/class="plotly-figure[^"]*js-plotly-plot/g) ?? []).length;
      assert(plots === figures, `${plots} of ${figures} figures drawn in the nbconvert HTML`);
      assert(dom.includes("only where the models disagree"), "the completions viewer is in the export");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
