import { fileURLToPath } from "node:url";
import { canonicalNumber, loadGsm8k } from "./gsm8k.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";

const DATA = fileURLToPath(new URL("../../../shared/data/gsm8k", import.meta.url));
const exists = (() => {
  try {
    return Deno.statSync(`${DATA}/test.jsonl`).isFile && Deno.statSync(`${DATA}/train.jsonl`).isFile;
  } catch {
    return false;
  }
})();
if (!exists) console.warn(`skipping real GSM8K tests: ${DATA}/{train,test}.jsonl not found`);

function tempFile(text: string, name = "train.jsonl"): string {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/${name}`, text);
  return `${dir}/${name}`;
}

Deno.test("canonicalNumber: commas, signs, decimals, junk", () => {
  assertEquals(canonicalNumber("1,080"), "1080");
  assertEquals(canonicalNumber(" 109,200,000 "), "109200000");
  assertEquals(canonicalNumber("-3"), "-3");
  assertEquals(canonicalNumber("+007"), "7");
  assertEquals(canonicalNumber("18.50"), "18.5");
  assertEquals(canonicalNumber("-0"), "0");
  assertEquals(canonicalNumber("abc"), null);
  assertEquals(canonicalNumber("$5"), null);
  assertEquals(canonicalNumber(""), null);
});

Deno.test({
  name: "loadGsm8k: real train and test files load completely",
  ignore: !exists,
  fn: async () => {
    const warnings: string[] = [];
    const test = await loadGsm8k(`${DATA}/test.jsonl`, { warn: (l) => warnings.push(l) });
    assertEquals(test.rows.length, 1319);
    assertEquals(test.skipped, []);
    assertEquals(warnings, []);
    assertEquals(test.rows[0].answer, "18");
    assert(test.rows[0].question.startsWith("Janet"));
    assert(test.rows[0].solution!.includes("<<16-3-4=9>>") && !test.rows[0].solution!.includes("####"));
    for (const r of test.rows) assert(/^-?\d+$/.test(r.answer), `gold ${r.answer}`);
    const train = await loadGsm8k(DATA, { split: "train", warn: (l) => warnings.push(l) });
    assertEquals(train.rows.length, 7473);
    assert(train.rows.some((r) => r.answer === "109200000"), "comma gold 109,200,000 parsed");
    const few = await loadGsm8k(DATA, { split: "test", limit: 5 });
    assertEquals(few.rows, test.rows.slice(0, 5));
  },
});

Deno.test("loadGsm8k: bad rows are skipped, counted with line numbers, and one warning printed", async () => {
  const good = (q: string, a: string) => JSON.stringify({ question: q, answer: a });
  const text = [
    good("Two plus two?", "2 + 2 = 4\n#### 4"),
    "{not json",
    JSON.stringify({ answer: "#### 3" }),
    good("No marker?", "the answer is 5"),
    good("Words?", "#### five"),
    "",
    good("Big?", "1,000 + 234 = 1,234\n#### 1,234"),
    JSON.stringify({ question: "No answer" }),
    "[1, 2]",
  ].join("\n");
  const warnings: string[] = [];
  const path = tempFile(text);
  const { rows, skipped } = await loadGsm8k(path, { warn: (l) => warnings.push(l) });
  assertEquals(rows.map((r) => r.answer), ["4", "1234"]);
  assertEquals(rows[0].solution, "2 + 2 = 4");
  assertEquals(skipped, [
    { line: 2, reason: "not valid JSON" },
    { line: 3, reason: `missing field "question"` },
    { line: 4, reason: `answer has no "####"` },
    { line: 5, reason: `gold answer "five" is not a number` },
    { line: 8, reason: `missing field "answer"` },
    { line: 9, reason: "row is not a JSON object" },
  ]);
  assertEquals(warnings.length, 1);
  assert(
    warnings[0].startsWith("warning: gsm8k train.jsonl: skipped 6 of 8 rows (line 2: not valid JSON;"),
    warnings[0],
  );
});

Deno.test("loadGsm8k: missing file, empty file, no valid rows, bad options → UserError naming the file", async () => {
  await assertRejects(() => loadGsm8k("/nonexistent/gsm8k.jsonl"), {
    cls: UserError,
    includes: "/nonexistent/gsm8k.jsonl",
  });
  const empty = tempFile("");
  await assertRejects(() => loadGsm8k(empty), { cls: UserError, includes: `no valid rows in ${empty}` });
  const bad = tempFile('{"question":"q","answer":"no marker"}\n');
  await assertRejects(() => loadGsm8k(bad, { warn: () => {} }), {
    cls: UserError,
    includes: `answer has no "####"`,
  });
  await assertRejects(() => loadGsm8k(bad, { limit: 0 }), { cls: UserError, includes: "limit" });
  // deno-lint-ignore no-explicit-any
  await assertRejects(() => loadGsm8k(bad, { split: "dev" as any }), { cls: UserError, includes: "split" });
});

Deno.test("loadGsm8k: openai/gsm8k downloads via the rows API (loopback) into the cache, then reuses it", async () => {
  const all = Array.from({ length: 7 }, (_, i) => ({ question: `Q${i}?`, answer: `step\n#### ${i * 1000}` }));
  const seen: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    seen.push(u.search);
    const off = +u.searchParams.get("offset")!, len = +u.searchParams.get("length")!;
    assertEquals(u.searchParams.get("dataset"), "openai/gsm8k");
    assertEquals(u.searchParams.get("config"), "main");
    const rows = all.slice(off, off + len).map((row, i) => ({ row_idx: off + i, row, truncated_cells: [] }));
    return Response.json({ rows, num_rows_total: all.length });
  });
  try {
    const cacheDir = Deno.makeTempDirSync();
    const endpoint = `http://127.0.0.1:${server.addr.port}`;
    const { rows } = await loadGsm8k("openai/gsm8k", { split: "test", cacheDir, endpoint });
    assertEquals(rows.map((r) => r.answer), ["0", "1000", "2000", "3000", "4000", "5000", "6000"]);
    assert(Deno.statSync(`${cacheDir}/openai__gsm8k/test.jsonl`).isFile);
    const calls = seen.length;
    assertEquals(calls, 1);
    const again = await loadGsm8k("openai/gsm8k", { split: "test", cacheDir, endpoint, limit: 2 });
    assertEquals(again.rows.length, 2);
    assertEquals(seen.length, calls, { msg: "second load must come from the cache" });
  } finally {
    await server.shutdown();
  }
});
