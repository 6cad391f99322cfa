import { appendJsonLine, readJsonLines, writeFileAtomic } from "./atomic.ts";
import { assertEquals, assertRejects } from "./assert.ts";

Deno.test("writeFileAtomic leaves no temp file and replaces content", async () => {
  const dir = await Deno.makeTempDir();
  await writeFileAtomic(`${dir}/a/b.txt`, "one");
  await writeFileAtomic(`${dir}/a/b.txt`, "two");
  assertEquals(await Deno.readTextFile(`${dir}/a/b.txt`), "two");
  assertEquals([...Deno.readDirSync(`${dir}/a`)].map((e) => e.name), ["b.txt"]);
});

Deno.test("readJsonLines keeps a valid prefix, counts a torn last line, rejects a bad middle line", async () => {
  const dir = await Deno.makeTempDir();
  await appendJsonLine(`${dir}/m.jsonl`, { step: 1 });
  await appendJsonLine(`${dir}/m.jsonl`, { step: 2 });
  await Deno.writeTextFile(`${dir}/m.jsonl`, '{"step": 3', { append: true });
  const { rows, torn } = await readJsonLines(`${dir}/m.jsonl`);
  assertEquals(rows, [{ step: 1 }, { step: 2 }]);
  assertEquals(torn, 1);
  await Deno.writeTextFile(`${dir}/bad.jsonl`, '{"a":1}\nnope\n{"a":2}\n');
  await assertRejects(() => readJsonLines(`${dir}/bad.jsonl`), Error, "bad.jsonl:2");
});
