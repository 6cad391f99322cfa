import { defaultCacheDir, downloadHubRows, warnSkipped } from "./hub.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";

async function withServer(
  handler: (u: URL) => Response,
  fn: (endpoint: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req) => handler(new URL(req.url)),
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("downloadHubRows: paginates offset/length until num_rows_total and writes JSONL", async () => {
  const all = Array.from({ length: 8 }, (_, i) => ({ instruction: `i${i}`, output: `o${i}` }));
  const offsets: number[] = [];
  await withServer((u) => {
    const off = +u.searchParams.get("offset")!, len = +u.searchParams.get("length")!;
    offsets.push(off);
    return Response.json({
      rows: all.slice(off, off + len).map((row) => ({ row })),
      num_rows_total: all.length,
    });
  }, async (endpoint) => {
    const cacheFile = `${Deno.makeTempDirSync()}/x/train.jsonl`;
    const logs: string[] = [];
    await downloadHubRows("tatsu-lab/alpaca", {
      config: "default",
      split: "train",
      cacheFile,
      endpoint,
      pageSize: 3,
      log: (l) => logs.push(l),
    });
    assertEquals(offsets, [0, 3, 6]);
    const lines = Deno.readTextFileSync(cacheFile).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines, all);
    assert(logs.at(-1)!.includes("8 rows cached"));
  });
});

Deno.test("downloadHubRows: HTTP error or an unexpected answer → UserError, no cache file left", async () => {
  await withServer(
    (u) =>
      u.searchParams.get("dataset") === "missing/set"
        ? new Response("nope", { status: 404 })
        : Response.json({ error: "weird" }),
    async (endpoint) => {
      const cacheFile = `${Deno.makeTempDirSync()}/train.jsonl`;
      const opts = { config: "default", split: "train", cacheFile, endpoint, log: () => {} };
      await assertRejects(() => downloadHubRows("missing/set", opts), {
        cls: UserError,
        includes: "HTTP 404",
      });
      await assertRejects(() => downloadHubRows("odd/set", opts), { cls: UserError, includes: `no "rows"` });
      assertEquals([...Deno.readDirSync(cacheFile.replace(/\/train.jsonl$/, ""))], []);
    },
  );
});

Deno.test("warnSkipped: one line, first three reasons, count of the rest; silent when nothing skipped", () => {
  const got: string[] = [];
  const skipped = [1, 2, 3, 4, 5].map((line) => ({ line, reason: `r${line}` }));
  const line = warnSkipped(skipped, {
    label: "gsm8k",
    path: "/a/b/train.jsonl",
    total: 10,
    warn: (l) => got.push(l),
  });
  assertEquals(got, [line]);
  assertEquals(
    line,
    "warning: gsm8k train.jsonl: skipped 5 of 10 rows (line 1: r1; line 2: r2; line 3: r3; … 2 more)",
  );
  assertEquals(warnSkipped([], { label: "gsm8k", path: "x", total: 3, warn: (l) => got.push(l) }), null);
  assertEquals(got.length, 1);
});

Deno.test("defaultCacheDir: under $HF_HOME when set", () => {
  const old = Deno.env.get("HF_HOME");
  try {
    Deno.env.set("HF_HOME", "/tmp/hfhome");
    assertEquals(defaultCacheDir(), "/tmp/hfhome/grpo-ts/datasets");
    Deno.env.delete("HF_HOME");
    assert(defaultCacheDir().endsWith("/.cache/grpo-ts/datasets"));
  } finally {
    if (old === undefined) Deno.env.delete("HF_HOME");
    else Deno.env.set("HF_HOME", old);
  }
});
