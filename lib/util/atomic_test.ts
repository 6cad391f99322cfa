import { appendJsonLine, readJsonLines, writeFileAtomic, writeJsonAtomic } from "./atomic.ts";
import { UserError } from "./errors.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

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
  await assertRejects(() => readJsonLines(`${dir}/bad.jsonl`), { cls: Error, includes: "bad.jsonl:2" });
});

/** Mounts a tmpfs of `size` at `dir` (root on Linux only); false when that is not possible here. */
function mountTmpfs(dir: string, size: string): boolean {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    return new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test("a failed write is one line naming the file and what it is; no temp file is left", async () => {
  const dir = await Deno.makeTempDir();
  const full = `${dir}/full`;
  await Deno.mkdir(full);
  const mounted = mountTmpfs(full, "64k");
  try {
    if (mounted) {
      const e = await assertRejects(
        () => writeFileAtomic(`${full}/big.bin`, new Uint8Array(1 << 20), { what: "checkpoint file" }),
        { cls: UserError },
      );
      assertEquals(
        e.message,
        `cannot write checkpoint file ${full}/big.bin: No space left on device (os error 28)`,
      );
      assertEquals([...Deno.readDirSync(full)].map((x) => x.name), [], { msg: "the temp file is removed" });
      await Deno.writeFile(`${full}/filler`, new Uint8Array(60_000)).catch(() => {});
      const a = await assertRejects(() => appendJsonLine(`${full}/m.jsonl`, { pad: "x".repeat(20_000) }), {
        cls: UserError,
      });
      assert(a.message.startsWith(`cannot write ${full}/m.jsonl: No space left on device`), a.message);
    } else {console.warn(
        "atomic_test: no tmpfs here (needs root on Linux); checking the one line of another write failure only",
      );}
    await Deno.writeTextFile(`${dir}/file`, "");
    const e = await assertRejects(() => writeJsonAtomic(`${dir}/file/x.json`, {}, { what: "run config" }), {
      cls: UserError,
    });
    assert(
      e.message.startsWith(`cannot write run config ${dir}/file/x.json: `) && !e.message.includes("\n"),
      e.message,
    );
  } finally {
    if (mounted) new Deno.Command("umount", { args: [full] }).outputSync();
    await Deno.remove(dir, { recursive: true });
  }
});
