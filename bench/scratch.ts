/**
 * Where the benchmark writes its scratch: random models, cases, the scale table's rows and the `math_hard` run
 * it times. Never under `outputs/`, where the study's runs are loaded from (a bench run there would be loaded
 * as a study run by `deno task report` and the notebooks): `$GRPO_BENCH_DIR` when set, else `bench/` beside
 * the hub cache (`~/.cache/grpo-ts/bench`, or `$HF_HOME/grpo-ts/bench`). The `math_hard` run goes to a fresh
 * temporary folder that is removed afterwards.
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";
import { hubCacheRoot, UserError } from "../lib/util/mod.ts";

/** The folder the study's runs are loaded from by default (`deno task report`, the notebooks). */
export const STUDY_OUTPUTS = "outputs";

/** The scratch folder of the bench (see the module doc); `dir` overrides it. */
export function benchScratchDir(dir?: string): string {
  let env: string | undefined;
  try {
    env = Deno.env.get("GRPO_BENCH_DIR") || undefined;
  } catch { /* no --allow-env */ }
  const chosen = dir ?? env ?? join(dirname(hubCacheRoot("models")), "bench");
  assertOutsideOutputs(chosen, Deno.cwd());
  return chosen;
}

/** A one-line error when `dir` lies inside `<cwd>/outputs` (where the study's runs are loaded from). */
export function assertOutsideOutputs(dir: string, cwd: string): void {
  const rel = relative(resolve(cwd, STUDY_OUTPUTS), resolve(cwd, dir));
  if (rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"))) {
    throw new UserError(
      `bench scratch folder ${dir} is inside ${STUDY_OUTPUTS}/, where the study's runs are loaded from; pick another --dir`,
    );
  }
}

/** The bench folder older versions wrote under `outputs/` (it breaks `deno task report`); null when absent. */
export function legacyBenchFolder(cwd: string): string | null {
  const p = join(cwd, STUDY_OUTPUTS, "bench");
  try {
    return Deno.statSync(p).isDirectory ? p : null;
  } catch {
    return null;
  }
}

/** Runs `fn` with a fresh temporary folder, removed afterwards (also on failure). */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
