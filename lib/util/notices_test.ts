import { assertEquals } from "./assert.ts";
import { collapsing, flushRepeatedNotices, notice, repeatedNotices } from "./notices.ts";

Deno.test("identical notices are printed once, repeats counted and summarised in one line", () => {
  const out: string[] = [];
  const write = (l: string) => out.push(l);
  assertEquals(notice("onnx: CUDA unavailable; running on CPU [test-a]", { write }), true);
  assertEquals(notice("onnx: CUDA unavailable; running on CPU [test-a]", { write }), false);
  const w = collapsing(write);
  w("warning: judge fallback [test-a]");
  w("warning: judge fallback [test-a]");
  w("warning: judge fallback [test-a]");
  w("warning: other [test-a]");
  assertEquals(out, [
    "onnx: CUDA unavailable; running on CPU [test-a]",
    "warning: judge fallback [test-a]",
    "warning: other [test-a]",
  ]);
  const mine = repeatedNotices().filter((r) => r.line.endsWith("[test-a]"));
  assertEquals(mine.map((r) => r.repeats), [1, 2]);
  const summary: string[] = [];
  flushRepeatedNotices((l) => summary.push(l));
  assertEquals(summary.filter((l) => l.includes("[test-a]")), [
    "(repeated 1 more time: onnx: CUDA unavailable; running on CPU [test-a])",
    "(repeated 2 more times: warning: judge fallback [test-a])",
  ]);
  assertEquals(repeatedNotices().filter((r) => r.line.endsWith("[test-a]")).length, 0);
});
