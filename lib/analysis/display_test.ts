import { assert, assertEquals } from "../util/assert.ts";
import { PLOTLY_MIME, show, showDashboard, showFigure } from "./display.ts";
import { section } from "./sections.ts";
import { jupyterApi } from "../util/mod.ts";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import { tableFromRows } from "./table.ts";

const spec = { data: [{ type: "scatter", x: [1], y: [2] }], layout: { title: { text: "T" } } };

Deno.test("showFigure: outside Jupyter (Deno.jupyter throws there) prints one line and returns false", async () => {
  assertEquals(jupyterApi(), undefined);
  const lines: string[] = [];
  assertEquals(await showFigure(spec, { log: (l) => lines.push(l) }), false);
  assertEquals(lines, ['figure "T": 1 traces (plotly output needs the Deno Jupyter kernel)']);
});

Deno.test("showFigure: inside Jupyter publishes the plotly JSON with a self-drawing text/html beside it (plotly.js once per process)", async () => {
  const calls: [string, { data: Record<string, unknown> }][] = [];
  const fake = {
    broadcast: (type: string, content: Record<string, unknown>) =>
      void calls.push([type, content as { data: Record<string, unknown> }]),
  };
  assert(await showFigure(spec, { jupyter: fake, log: () => assert(false, "must not log") }));
  assert(await showFigure(spec, { jupyter: fake }));
  assertEquals(calls.length, 2);
  const [type, { data: first }] = calls[0];
  assertEquals(type, "display_data");
  assertEquals(first[PLOTLY_MIME], spec);
  assertEquals(first["text/plain"], 'figure "T": 1 traces');
  const h1 = first["text/html"] as string, h2 = calls[1][1].data["text/html"] as string;
  assert(h1.includes("Plotly.newPlot") && h2.includes("Plotly.newPlot"));
  const lib = (h: string) => h.length > 1_000_000 && h.includes("var Plotly=");
  assert(lib(h1) !== lib(h2), "plotly.js is inlined in exactly one of the two figures");
  assert(!/<\/script>\s*[^<]*var Plotly/.test(h2));
});

Deno.test("showDashboard: every figure displayed, omitted ones named", async () => {
  const table = tableFromRows(
    rowsOf(fakeMetrics({ experiment: "math_hard", seed: 0 }), { experiment: "math_hard", seed: 0 }),
  );
  const shown: unknown[] = [], lines: string[] = [];
  const dash = await showDashboard(table, {
    jupyter: { broadcast: (_type, content) => void shown.push(content) },
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

Deno.test("show: a section as HTML in Jupyter and as plain text outside; figures with the omitted named", async () => {
  const s = section({ id: "x", title: "X", html: "<table><tr><td>1</td></tr></table>", plain: "one" });
  const shown: { data: Record<string, unknown> }[] = [], lines: string[] = [];
  const jupyter = { broadcast: (_t: string, c: Record<string, unknown>) => void shown.push(c as never) };
  await show(s, { jupyter, log: (l) => lines.push(l) });
  assertEquals(shown[0].data["text/plain"], "one");
  assert(String(shown[0].data["text/html"]).includes('class="grpo-readable"'), "tables made readable");
  await show(s, { jupyter: null, log: (l) => lines.push(l) });
  await show({ figures: [], omitted: [{ id: "kl", title: "KL", reason: "no run logged kl" }] }, {
    jupyter: null,
    log: (l) => lines.push(l),
  });
  await show(spec, { jupyter, log: (l) => lines.push(l) });
  assertEquals(lines, ["one", "not drawn: KL (no run logged kl)"]);
  assertEquals(shown.length, 2);
  assertEquals(shown[1].data[PLOTLY_MIME], spec);
});
