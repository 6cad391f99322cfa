/**
 * `deno task report --figures DIR`: every report figure as SVG and PNG for papers, rendered by plotly.js
 * (`Plotly.toImage`) in headless Chromium (Debian's `chromium` package; nothing is fetched).
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError, writeFileAtomic } from "../util/mod.ts";
import type { NamedFigure } from "./dashboard.ts";
import { inlineScript, scriptJson } from "./html.ts";
import { plotlySource } from "./plotly_html.ts";

/** The headless Chromium binary, when installed. */
export function findChromium(): string | undefined {
  return ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
    existsSync(p)
  );
}

/**
 * Loads `file://<html>` in headless Chromium (as root, offline, with a fresh profile in `profileDir`),
 * lets its scripts run for `budgetMs` of virtual time, and returns the rendered DOM and the process outcome.
 */
export async function chromiumDumpDom(
  chromium: string,
  html: string,
  options: { profileDir: string; budgetMs: number },
): Promise<{ success: boolean; dom: string; stderr: string }> {
  const res = await new Deno.Command(chromium, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      `--user-data-dir=${options.profileDir}`,
      `--virtual-time-budget=${options.budgetMs}`,
      "--dump-dom",
      `file://${html}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { success: res.success, dom: dec.decode(res.stdout), stderr: dec.decode(res.stderr) };
}

/** Options of {@linkcode exportFigures}. */
export interface ExportOptions {
  /** Chromium binary (default: {@linkcode findChromium}). */
  chromium?: string;
  /** Image width in px (default 1000); height comes from each figure's layout (default 450). */
  width?: number;
  /** PNG scale factor (default 2). */
  scale?: number;
  /** plotly.js text (default: the installed minified bundle). */
  library?: string;
}

function page(
  figs: readonly NamedFigure[],
  o: Required<Pick<ExportOptions, "width" | "scale">>,
  lib: string,
) {
  const items = figs.map((f) => ({ id: f.id, spec: f.spec }));
  return `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><pre id="out">pending</pre>
<script>${inlineScript(lib)}</script>
<script type="application/json" id="figs">${scriptJson(items)}</script>
<script>(async function () {
  var figs = JSON.parse(document.getElementById("figs").textContent), out = [];
  for (var i = 0; i < figs.length; i++) {
    var f = figs[i], h = f.spec.layout.height || 450, fig = { data: f.spec.data, layout: f.spec.layout };
    try {
      var svg = await Plotly.toImage(fig, { format: "svg", width: ${o.width}, height: h });
      var png = await Plotly.toImage(fig, { format: "png", width: ${o.width}, height: h, scale: ${o.scale} });
      out.push({ id: f.id, svg: svg, png: png });
    } catch (e) { out.push({ id: f.id, error: String(e) }); }
  }
  document.getElementById("out").textContent = "RESULT:" + btoa(unescape(encodeURIComponent(JSON.stringify(out))));
})();</script></body></html>`;
}

/**
 * Writes `<id>.svg` and `<id>.png` for every figure into `dir` (atomically); returns the files written.
 * Without Chromium, or when it fails, a UserError says so.
 */
export async function exportFigures(
  figures: readonly NamedFigure[],
  dir: string,
  opts: ExportOptions = {},
): Promise<string[]> {
  const chromium = opts.chromium ?? findChromium();
  if (!chromium) {
    throw new UserError("--figures: needs headless Chromium (Debian: apt-get install chromium); none found");
  }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = await Deno.makeTempDir({ prefix: "grpo-figures-" });
  try {
    const html = join(tmp, "figures.html");
    await Deno.writeTextFile(
      html,
      page(figures, { width: opts.width ?? 1000, scale: opts.scale ?? 2 }, opts.library ?? plotlySource()),
    );
    const res = await chromiumDumpDom(chromium, html, {
      profileDir: join(tmp, "profile"),
      budgetMs: 20_000 + 3_000 * figures.length,
    });
    const dom = res.dom;
    const m = /RESULT:([A-Za-z0-9+/=]+)/.exec(dom);
    if (!res.success || !m) {
      throw new UserError(
        `--figures: headless Chromium did not render the figures (${
          res.stderr.trim().split("\n").pop() ?? "no output"
        })`,
      );
    }
    const bin = atob(m[1]);
    const out = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))) as {
      id: string;
      svg?: string;
      png?: string;
      error?: string;
    }[];
    const written: string[] = [];
    for (const f of out) {
      if (f.error || !f.svg || !f.png) {
        throw new UserError(`--figures: figure "${f.id}" failed to render (${f.error})`);
      }
      const svg = decodeURIComponent(f.svg.slice(f.svg.indexOf(",") + 1));
      const png = Uint8Array.from(atob(f.png.slice(f.png.indexOf(",") + 1)), (c) => c.charCodeAt(0));
      const name = f.id.replace(/[^\w.-]+/g, "_");
      await writeFileAtomic(join(dir, `${name}.svg`), svg);
      await writeFileAtomic(join(dir, `${name}.png`), png);
      written.push(join(dir, `${name}.svg`), join(dir, `${name}.png`));
    }
    return written;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
