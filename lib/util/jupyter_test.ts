import { display, DISPLAY_SYMBOL, html, isJupyter, liveDisplay } from "./jupyter.ts";
import { assert, assertEquals } from "./assert.ts";

async function captureLog(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.log = orig;
  }
  return lines;
}

// Inside the kernel these helpers are checked end to end by lib/jupyter/runner_test.ts.
Deno.test("outside Jupyter: isJupyter is false and display falls back to the console", async () => {
  assertEquals(isJupyter(), false);
  const lines = await captureLog(async () => {
    await display({ "text/plain": "hello", "text/html": "<b>hello</b>" });
    await display({ "application/vnd.plotly.v1+json": {} });
    await display({ "text/plain": "hidden" }, { quiet: true });
    await display(html("<p>para <b>bold</b></p>"));
  });
  assertEquals(lines, ["hello", "[display: application/vnd.plotly.v1+json]", "para bold"]);
});

Deno.test("html() is a displayable bundle; liveDisplay prints only text/plain outside Jupyter", async () => {
  const h = html("<i>x</i>");
  assertEquals(h[DISPLAY_SYMBOL](), { "text/html": "<i>x</i>", "text/plain": "x" });
  assertEquals(h["text/html"], "<i>x</i>");
  const live = liveDisplay({ id: "curve" });
  assertEquals(live.id, "curve");
  assert(liveDisplay().id !== liveDisplay().id, "fresh ids");
  const lines = await captureLog(async () => {
    await live.update({ "image/svg+xml": "<svg/>" });
    await live.update({ "text/plain": "step 2" });
  });
  assertEquals(lines, ["step 2"]);
});

Deno.test("html() takes an explicit text/plain part", () => {
  assertEquals(html("<table></table>", { plain: "2 rows" })["text/plain"], "2 rows");
  assertEquals(html("<br>")["text/plain"], "[html]");
});

Deno.test("with a Jupyter API: display publishes display_data; liveDisplay then updates in place", async () => {
  const sent: [string, Record<string, unknown>][] = [];
  const jupyter = {
    broadcast: (type: string, content: Record<string, unknown>) => void sent.push([type, content]),
  };
  await display({ "text/plain": "a" }, { jupyter });
  const live = liveDisplay({ id: "x", jupyter });
  await live.update({ "text/plain": "1" });
  await live.update({ "text/plain": "2" });
  assertEquals(sent.map(([t]) => t), ["display_data", "display_data", "update_display_data"]);
  assertEquals(sent[0][1], { data: { "text/plain": "a" }, metadata: {}, transient: {} });
  assertEquals(sent[2][1].transient, { display_id: "x" });
});
