import { existsSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../util/assert.ts";
import { makeNotebook, writeNotebook } from "./nbformat.ts";
import { runNotebook } from "./runner.ts";

const NBCONVERT = ["/usr/bin/jupyter-nbconvert", "/usr/local/bin/jupyter-nbconvert"].find((p) =>
  existsSync(p)
);
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
if (!NBCONVERT) console.warn("skipping the nbconvert figure test: jupyter-nbconvert not installed");
if (!CHROMIUM) console.warn("skipping the nbconvert figure test: chromium not installed");

const ANALYSIS = new URL("../analysis/mod.ts", import.meta.url).href;

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
      const dom = await new Deno.Command(CHROMIUM!, {
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--no-first-run",
          `--user-data-dir=${join(dir, "profile")}`,
          "--virtual-time-budget=8000",
          "--dump-dom",
          `file://${html}`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(dom.stdout);
      assert(dom.success, new TextDecoder().decode(dom.stderr).slice(-500));
      const svgs = (text.match(/class="main-svg"/g) ?? []).length;
      const plots = (text.match(/class="[^"]*js-plotly-plot/g) ?? []).length;
      assert(plots === 2, `expected 2 drawn plotly figures in the nbconvert HTML, found ${plots}`);
      assert(svgs >= 2, `svg.main-svg count ${svgs}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
