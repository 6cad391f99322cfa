/**
 * Model folders: a local folder is used as it is; a Hugging Face hub id (`org/name`) is downloaded
 * once (config, tokenizer, generation config, safetensors weights, shards) into a cache folder,
 * each file streamed to a temp file and renamed into place, and a marker written last, so an
 * interrupted download is redone rather than half-used. `HF_TOKEN` is sent as a bearer token and
 * never printed.
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { UserError, writeJsonAtomic } from "../util/mod.ts";
import { hubCacheRoot } from "../util/cache_dir.ts";
import { readShardIndex } from "./safetensors.ts";

/** Options of {@linkcode resolveModelDir}. */
export interface ResolveModelDirOptions {
  /** Base cache folder (default `$HF_HOME/grpo-ts/models`, else `~/.cache/grpo-ts/models`). */
  cacheDir?: string;
  /** Hub revision: branch, tag or commit (default "main"). */
  revision?: string;
  /** Bearer token (default the `HF_TOKEN` environment variable). */
  token?: string;
  /** Hub base URL (default `$HF_ENDPOINT`, else https://huggingface.co). */
  endpoint?: string;
  /** The fetch to use (tests pass a fake). */
  fetch?: typeof fetch;
  /** Where progress lines go (default stderr). */
  log?: (line: string) => void;
}

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MARKER = ".grpo-ts-download.json";

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** The cache folder a hub id downloads into. */
export function hubCacheDir(
  id: string,
  options: Pick<ResolveModelDirOptions, "cacheDir" | "revision"> = {},
): string {
  const base = options.cacheDir ?? hubCacheRoot("models");
  const rev = options.revision ?? "main";
  return join(base, rev === "main" ? id : `${id}@${rev.replace(/[^A-Za-z0-9_.-]/g, "_")}`);
}

/**
 * Returns a local model folder for `idOrPath`: an existing folder (which must hold config.json),
 * or the cache folder of a hub id, downloading it first when it is not complete there.
 */
export async function resolveModelDir(
  idOrPath: string,
  options: ResolveModelDirOptions = {},
): Promise<string> {
  const st = await statOrNull(idOrPath);
  if (st) {
    if (!st.isDirectory) throw new UserError(`${idOrPath} is a file, not a model folder`);
    if (!(await statOrNull(join(idOrPath, "config.json")))) {
      throw new UserError(`model folder ${idOrPath} has no config.json`);
    }
    return resolve(idOrPath);
  }
  if (!HUB_ID.test(idOrPath) || idOrPath.split("/").some((p) => p === ".." || p === ".")) {
    throw new UserError(
      `model folder ${idOrPath} does not exist (nor is it a Hugging Face id like "org/name")`,
    );
  }
  const dir = hubCacheDir(idOrPath, options);
  if (await statOrNull(join(dir, MARKER))) return dir;
  await downloadModel(idOrPath, dir, options);
  return dir;
}

async function downloadModel(id: string, dir: string, options: ResolveModelDirOptions): Promise<void> {
  const revision = options.revision ?? "main";
  const endpoint = (options.endpoint ?? Deno.env.get("HF_ENDPOINT") ?? "https://huggingface.co").replace(
    /\/+$/,
    "",
  );
  const token = options.token ?? Deno.env.get("HF_TOKEN");
  const log = options.log ?? ((line: string) => console.error(line));
  const doFetch = options.fetch ?? fetch;
  const get = async (file: string, required: boolean): Promise<boolean> => {
    const url = `${endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file}`;
    const notLocal = file === "config.json" ? `; no local folder ${id} exists either` : "";
    let res: Response;
    try {
      res = await doFetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    } catch (e) {
      throw new UserError(
        `hub: cannot reach ${endpoint} for ${id}/${file} (${(e as Error).message})${notLocal}`,
      );
    }
    if (res.status === 404 && !required) {
      await res.body?.cancel();
      return false;
    }
    if (!res.ok) {
      await res.body?.cancel();
      const hint = res.status === 401 || res.status === 403
        ? " (private, gated or unknown model: check the id, or set HF_TOKEN)"
        : res.status === 404
        ? ` (not in revision ${revision})`
        : "";
      throw new UserError(`hub: ${id}/${file} answered HTTP ${res.status}${hint}${notLocal}`);
    }
    await streamToFile(res, join(dir, file), `${id}/${file}`, log);
    return true;
  };

  log(`[download] ${id} (revision ${revision}) → ${dir}`);
  await Deno.mkdir(dir, { recursive: true });
  const files = ["config.json"];
  await get("config.json", true);
  for (const f of ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]) {
    if (await get(f, f === "tokenizer.json")) files.push(f);
  }
  if (await get("model.safetensors", false)) {
    files.push("model.safetensors");
  } else {
    if (!(await get("model.safetensors.index.json", false))) {
      throw new UserError(`hub: ${id} has neither model.safetensors nor model.safetensors.index.json`);
    }
    files.push("model.safetensors.index.json");
    const shards = [
      ...new Set(Object.values(await readShardIndex(join(dir, "model.safetensors.index.json")))),
    ];
    for (const shard of shards.sort()) {
      await get(shard, true);
      files.push(shard);
    }
  }
  await writeJsonAtomic(join(dir, MARKER), { id, revision, files, downloadedAt: new Date().toISOString() });
}

/** Streams a response body into `path` through a temp file in the same folder, then renames it. */
async function streamToFile(
  res: Response,
  path: string,
  label: string,
  log: (line: string) => void,
): Promise<void> {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const tmp = join(dirname(path), `.${path.split("/").pop()}.${Deno.pid}.${rand}.tmp`);
  const total = Number(res.headers.get("content-length") ?? NaN);
  const start = performance.now();
  let done = 0, lastLog = start;
  const line = () => {
    const secs = Math.max((performance.now() - start) / 1000, 1e-3);
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const of = Number.isFinite(total) ? `/${mb(total)}` : "";
    return `[download] ${label} ${mb(done)}${of} MB ${(done / 1e6 / secs).toFixed(1)} MB/s`;
  };
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        let off = 0;
        while (off < chunk.length) off += await f.write(chunk.subarray(off));
        done += chunk.length;
        if (performance.now() - lastLog > 1000) {
          lastLog = performance.now();
          log(line());
        }
      }
    }
    if (Number.isFinite(total) && done !== total) {
      throw new UserError(`hub: ${label} ended after ${done} of ${total} bytes`);
    }
    await f.sync();
  } catch (e) {
    f.close();
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof UserError) throw e;
    throw new UserError(`hub: download of ${label} failed (${(e as Error).message})`);
  }
  f.close();
  await Deno.rename(tmp, path);
  log(line());
}
