import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import { JudgeCache, judgeCacheKey } from "./cache.ts";

Deno.test("judgeCacheKey: depends on model, rubric, prompt, response and reference", () => {
  const base = { model: "m", rubric: "r" };
  const k = judgeCacheKey({ prompt: "p", response: "a" }, base);
  assert(/^[0-9a-f]{64}$/.test(k));
  assertEquals(judgeCacheKey({ prompt: "p", response: "a" }, base), k);
  const others = [
    judgeCacheKey({ prompt: "p", response: "a" }, { ...base, model: "m2" }),
    judgeCacheKey({ prompt: "p", response: "a" }, { ...base, rubric: "r2" }),
    judgeCacheKey({ prompt: "p2", response: "a" }, base),
    judgeCacheKey({ prompt: "p", response: "a2" }, base),
    judgeCacheKey({ prompt: "p", response: "a", reference: "x" }, base),
    judgeCacheKey({ prompt: "pa", response: "" }, base), // no ambiguity from concatenation
  ];
  assertEquals(new Set([k, ...others]).size, 7);
});

Deno.test("JudgeCache: persists atomically and reloads; bad files are UserErrors naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/sub/cache.json`;
    const c = new JudgeCache({ path });
    assertEquals(c.size, 0);
    c.set("k1", 7);
    c.set("k2", 0.5);
    await c.flush();
    assertEquals(JSON.parse(await Deno.readTextFile(path)), { version: 1, entries: { k1: 7, k2: 0.5 } });
    assertEquals([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["cache.json"], {
      msg: "no temp files left",
    });
    const again = new JudgeCache({ path });
    assertEquals([again.size, again.get("k1"), again.get("k2"), again.get("zz")], [2, 7, 0.5, undefined]);

    await Deno.writeTextFile(path, "{not json");
    assertThrows(() => new JudgeCache({ path }), { cls: UserError, includes: path });
    await Deno.writeTextFile(path, JSON.stringify({ version: 1, entries: { k: "high" } }));
    assertThrows(() => new JudgeCache({ path }), { cls: UserError, includes: 'entry "k"' });
    await Deno.writeTextFile(path, JSON.stringify({ entries: {} }));
    assertThrows(() => new JudgeCache({ path }), { cls: UserError, includes: "version" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JudgeCache: memory-only flush writes nothing", async () => {
  const c = new JudgeCache();
  c.set("k", 3);
  await c.flush();
  assertEquals(c.get("k"), 3);
  assertEquals(c.path, undefined);
});
