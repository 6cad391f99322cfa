import { assert, assertEquals } from "../util/assert.ts";
import { jupyter, PLOTLY_MIME, showDashboard, showFigure } from "./display.ts";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import { tableFromRows } from "./table.ts";

const spec = { data: [{ type: "scatter", x: [1], y: [2] }], layout: { title: { text: "T" } } };

Deno.test("showFigure: outside Jupyter (Deno.jupyter throws there) prints one line and returns false", async () => {
  assertEquals(jupyter(), undefined);
  const lines: string[] = [];
  assertEquals(await showFigure(spec, { log: (l) => lines.push(l) }), false);
  assertEquals(lines, ['figure "T": 1 traces (plotly output needs the Deno Jupyter kernel)']);
});

Deno.test("showFigure: inside Jupyter sends the plotly JSON with a self-drawing text/html beside it (plotly.js once per process)", async () => {
  const calls: [Record<string, unknown>, { raw: boolean }][] = [];
  const fake = {
    display: (obj: Record<string, unknown>, opts: { raw: boolean }) => void calls.push([obj, opts]),
  };
  assert(await showFigure(spec, { jupyter: fake, log: () => assert(false, "must not log") }));
  assert(await showFigure(spec, { jupyter: fake }));
  assertEquals(calls.length, 2);
  const [first, opts] = calls[0];
  assertEquals(opts, { raw: true });
  assertEquals(first[PLOTLY_MIME], spec);
  assertEquals(first["text/plain"], 'figure "T": 1 traces');
  const h1 = first["text/html"] as string, h2 = calls[1][0]["text/html"] as string;
  assert(h1.includes("Plotly.newPlot") && h2.includes("Plotly.newPlot"));
  const lib = (h: string) => h.length > 1_000_000 && h.includes("var Plotly=");
  assert(lib(h1) !== lib(h2), "plotly.js is inlined in exactly one of the two figures");
  assert(!/<\/script>\s*[^<]*var Plotly/.test(h2));
});

Deno.test("showDashboard: every figure displayed, omitted ones named", async () => {
  const table = tableFromRows(rowsOf(fakeMetrics({ experiment: "math_hard", seed: 0 }), "math_hard", 0));
  const shown: unknown[] = [], lines: string[] = [];
  const dash = await showDashboard(table, {
    jupyter: { display: (obj) => void shown.push(obj) },
    log: (l) => lines.push(l),
  });
  assertEquals(shown.length, dash.figures.length);
  assert(dash.figures.length >= 4);
  assertEquals(lines.length, dash.omitted.length);
  assert(
    lines.includes("not drawn: KL divergence to the reference policy (no run logged kl)"),
    lines.join("\n"),
  );
});
