import { fileURLToPath } from "node:url";
import { loadAlpaca } from "./alpaca.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";

const DATA = fileURLToPath(new URL("../../../shared/data/alpaca", import.meta.url));
const has = (f: string) => {
  try {
    return Deno.statSync(`${DATA}/${f}`).isFile;
  } catch {
    return false;
  }
};
const exists = has("alpaca_sample.json") && has("seed_tasks.jsonl");
if (!exists) {
  console.warn(`skipping real Alpaca tests: ${DATA}/{alpaca_sample.json,seed_tasks.jsonl} not found`);
}

function tempFile(text: string, name: string): string {
  const path = `${Deno.makeTempDirSync()}/${name}`;
  Deno.writeTextFileSync(path, text);
  return path;
}

Deno.test({
  name: "loadAlpaca: real alpaca_sample.json and seed_tasks.jsonl",
  ignore: !exists,
  fn: async () => {
    const sample = await loadAlpaca(`${DATA}/alpaca_sample.json`, {
      warn: () => assert(false, "no warning"),
    });
    assertEquals(sample.rows.length, 102);
    assertEquals(sample.skipped, []);
    assertEquals(sample.rows[1], {
      instruction: "What are the three primary colors?",
      input: "",
      output: "The three primary colors are red, blue, and yellow.",
    });
    assert(sample.rows.filter((r) => r.input !== "").length === 48);
    const seed = await loadAlpaca(`${DATA}/seed_tasks.jsonl`);
    assertEquals(seed.rows.length, 175);
    assertEquals(seed.rows[1].input, "Night : Day :: Right : Left");
    assertEquals(seed.rows[1].output, "The relation between the given pairs is that they are opposites.");
    assertEquals((await loadAlpaca(`${DATA}/seed_tasks.jsonl`, { limit: 3 })).rows.length, 3);
  },
});

Deno.test("loadAlpaca: flat JSONL and seed-task rows; bad rows counted with line numbers", async () => {
  const text = [
    JSON.stringify({ instruction: "Say hi.", input: "", output: "Hi!" }),
    "{broken",
    JSON.stringify({ instruction: "Echo.", output: "" }),
    JSON.stringify({ input: "x", output: "y" }),
    JSON.stringify({
      instruction: "Two.",
      instances: [{ input: "a", output: "A" }, { input: "b", output: "B" }],
    }),
    JSON.stringify({ instruction: "None.", instances: [] }),
    JSON.stringify({ instruction: "Num.", input: 5, output: "five" }),
  ].join("\n");
  const warnings: string[] = [];
  const { rows, skipped } = await loadAlpaca(tempFile(text, "mixed.jsonl"), {
    warn: (l) => warnings.push(l),
  });
  assertEquals(rows, [
    { instruction: "Say hi.", input: "", output: "Hi!" },
    { instruction: "Two.", input: "a", output: "A" },
    { instruction: "Two.", input: "b", output: "B" },
  ]);
  assertEquals(skipped.map((s) => s.line), [2, 3, 4, 6, 7]);
  assertEquals(skipped[1].reason, `missing field "output"`);
  assertEquals(skipped[2].reason, `missing field "instruction"`);
  assertEquals(warnings.length, 1);
  assert(warnings[0].startsWith("warning: alpaca mixed.jsonl: skipped 5 of 7 rows (line 2: not valid JSON;"));
});

Deno.test("loadAlpaca: JSON array with a bad item counts its item number", async () => {
  const arr = [{ instruction: "A", input: "", output: "B" }, { instruction: "C" }, "str"];
  const { rows, skipped } = await loadAlpaca(tempFile(JSON.stringify(arr), "a.json"), { warn: () => {} });
  assertEquals(rows.length, 1);
  assertEquals(skipped, [{ line: 2, reason: `missing field "output"` }, {
    line: 3,
    reason: "row is not a JSON object",
  }]);
});

Deno.test("loadAlpaca: missing, empty, malformed JSON, non-array .json → UserError naming the file", async () => {
  await assertRejects(() => loadAlpaca("/nonexistent/alpaca.json"), {
    cls: UserError,
    includes: "/nonexistent/alpaca.json",
  });
  const empty = tempFile("", "empty.jsonl");
  await assertRejects(() => loadAlpaca(empty), { cls: UserError, includes: `no valid rows in ${empty}` });
  const broken = tempFile("[{", "broken.json");
  await assertRejects(() => loadAlpaca(broken), { cls: UserError, includes: `${broken} is not valid JSON` });
  const obj = tempFile('{\n "instruction": "x"\n}', "obj.json");
  await assertRejects(() => loadAlpaca(obj), { cls: UserError, includes: `${obj} must hold a JSON array` });
  await assertRejects(() => loadAlpaca(obj, { limit: -2 }), { cls: UserError, includes: "limit" });
});
