import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import { hubCacheDir, resolveModelDir } from "./hub.ts";
import { encodeSafetensors, loadModelWeights } from "./safetensors.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-model-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const tempDir = () => Deno.makeTempDir({ dir: ROOT });

const TOKEN = "hf_secret_never_printed";

function listAll(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("hub: a local folder resolves to itself; bad local paths are UserErrors", async () => {
  const dir = await tempDir();
  await assertRejects(() => resolveModelDir(dir), {
    cls: UserError,
    includes: `model folder ${dir} has no config.json`,
  });
  await Deno.writeTextFile(join(dir, "config.json"), "{}");
  assertEquals(await resolveModelDir(dir), dir);
  await assertRejects(() => resolveModelDir(join(dir, "config.json")), {
    cls: UserError,
    includes: "is a file, not a model folder",
  });
  await assertRejects(() => resolveModelDir(join(dir, "missing")), {
    cls: UserError,
    includes: "does not exist",
  });
  await assertRejects(() => resolveModelDir("../x/y"), { cls: UserError, includes: "does not exist" });
  assert(hubCacheDir("org/m", { cacheDir: "/c" }) === "/c/org/m");
  assert(hubCacheDir("org/m", { cacheDir: "/c", revision: "v1/x" }) === "/c/org/m@v1_x");
});

Deno.test("hub: downloads a sharded model from a loopback fake hub, atomically, with the token sent", async () => {
  const shard1 = encodeSafetensors({ a: { shape: [2], data: new Float32Array([1, 2]) } });
  const shard2 = encodeSafetensors({ b: { shape: [1], data: new Float32Array([3]) } });
  const files: Record<string, Uint8Array<ArrayBuffer> | string> = {
    "config.json": JSON.stringify({ model_type: "llama" }),
    "tokenizer.json": "{}",
    "tokenizer_config.json": "{}",
    "model.safetensors.index.json": JSON.stringify({
      weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" },
    }),
    "model-00001-of-00002.safetensors": shard1,
    "model-00002-of-00002.safetensors": shard2,
  };
  const requests: string[] = [];
  let badAuth = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) badAuth++;
    const m = path.match(/^\/org\/tiny\/resolve\/main\/(.+)$/);
    const body = m ? files[m[1]] : undefined;
    return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
  });
  try {
    const cacheDir = await tempDir();
    const lines: string[] = [];
    const opts = {
      cacheDir,
      token: TOKEN,
      endpoint: `http://127.0.0.1:${server.addr.port}/`,
      log: (l: string) => lines.push(l),
    };
    const dir = await resolveModelDir("org/tiny", opts);
    assertEquals(dir, join(cacheDir, "org/tiny"));
    assertEquals(badAuth, 0);
    // generation_config.json and model.safetensors are optional: asked for, 404, skipped
    assert(requests.includes("/org/tiny/resolve/main/generation_config.json"));
    assert(requests.includes("/org/tiny/resolve/main/model.safetensors"));
    assertEquals(listAll(dir), [
      ".grpo-ts-download.json",
      "config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    const w = await loadModelWeights(dir);
    assertEquals([...w.get("b")!.data], [3]);
    assert(
      lines.some((l) =>
        /^\[download\] org\/tiny\/model-00001-of-00002\.safetensors 0\.0\/0\.0 MB [\d.]+ MB\/s$/.test(l)
      ),
    );
    assert(lines.every((l) => !l.includes(TOKEN)));
    // complete: the second call touches no network
    const before = requests.length;
    assertEquals(await resolveModelDir("org/tiny", opts), dir);
    assertEquals(requests.length, before);
    // an unknown model: a one-line error, without the token
    const err = await assertRejects(() => resolveModelDir("org/nope", opts), {
      cls: UserError,
      includes: "HTTP 404",
    });
    assert(!err.message.includes(TOKEN));
  } finally {
    await server.shutdown();
  }
});

Deno.test("hub: an interrupted download leaves no partial file and no completion marker", async () => {
  const cacheDir = await tempDir();
  let calls = 0;
  const fakeFetch = (input: string | URL | Request): Promise<Response> => {
    calls++;
    const url = String(input);
    if (url.endsWith("/model.safetensors")) {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new Uint8Array(1000));
          c.error(new Error("connection reset"));
        },
      });
      return Promise.resolve(new Response(stream));
    }
    if (url.endsWith("generation_config.json")) return Promise.resolve(new Response("", { status: 404 }));
    return Promise.resolve(new Response("{}"));
  };
  const opts = { cacheDir, fetch: fakeFetch as typeof fetch, log: () => {} };
  await assertRejects(() => resolveModelDir("org/flaky", opts), {
    cls: UserError,
    includes: "hub: download of org/flaky/model.safetensors failed (connection reset)",
  });
  assertEquals(listAll(join(cacheDir, "org/flaky")), [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
  ]);
  assert(calls >= 4);

  const gated = () => Promise.resolve(new Response("", { status: 401 }));
  await assertRejects(
    () =>
      resolveModelDir("org/gated", { cacheDir, fetch: gated as typeof fetch, log: () => {}, token: TOKEN }),
    {
      cls: UserError,
      includes:
        "hub: org/gated/config.json answered HTTP 401 (private, gated or unknown model: check the id, or set HF_TOKEN)",
    },
  );
  const offline = () => Promise.reject(new TypeError("dns error"));
  await assertRejects(() =>
    resolveModelDir("org/offline", {
      cacheDir,
      fetch: offline as typeof fetch,
      log: () => {},
      endpoint: "https://huggingface.co",
    }), {
    cls: UserError,
    includes: "cannot reach https://huggingface.co for org/offline/config.json (dns error)",
  });
});
