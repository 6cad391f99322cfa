/**
 * The one cache folder of downloads from the Hugging Face hub: `$HF_HOME/grpo-ts/<kind>` when
 * `HF_HOME` is set, else `~/.cache/grpo-ts/<kind>`, for models and datasets alike.
 * @module
 */
import { join } from "node:path";
import { homedir } from "node:os";

/** What is cached: model folders or dataset rows. */
export type CacheKind = "models" | "datasets";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: treated as not set
  }
}

/** The cache folder of `kind`: `$HF_HOME/grpo-ts/<kind>`, else `~/.cache/grpo-ts/<kind>`. */
export function hubCacheRoot(kind: CacheKind): string {
  const hfHome = env("HF_HOME");
  return hfHome ? join(hfHome, "grpo-ts", kind) : join(homedir(), ".cache", "grpo-ts", kind);
}
