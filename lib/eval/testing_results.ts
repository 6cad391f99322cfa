/**
 * The Testing notebook's results kept beside the runs (`<outputs>/testing_results.json`), so
 * `deno task report` can include them.
 * @module
 */
import { join } from "node:path";
import { UserError } from "../util/errors.ts";
import { writeJsonAtomic } from "../util/atomic.ts";
import type { ModelRow } from "./compare.ts";

/** File name of the Testing results in the outputs folder. */
export const TESTING_RESULTS_FILE = "testing_results.json";

/** Writes the rows of `compareModels` to `<outputsDir>/testing_results.json` (atomically); returns the path. */
export async function writeTestingResults(outputsDir: string, rows: readonly ModelRow[]): Promise<string> {
  const path = join(outputsDir, TESTING_RESULTS_FILE);
  await writeJsonAtomic(path, { generated_at: new Date().toISOString(), rows });
  return path;
}

/** Reads `<outputsDir>/testing_results.json`; undefined when absent, a UserError when malformed. */
export async function readTestingResults(
  outputsDir: string,
): Promise<{ generatedAt: string; rows: ModelRow[] } | undefined> {
  const path = join(outputsDir, TESTING_RESULTS_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new UserError(`${path}: cannot read (${(e as Error).message})`);
  }
  let v: { generated_at?: unknown; rows?: unknown };
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v?.rows) || v.rows.some((r) => typeof r?.name !== "string")) {
    throw new UserError(`${path}: expected {"rows": [{"name": …}, …]} as the Testing notebook writes`);
  }
  return { generatedAt: String(v.generated_at ?? "unknown time"), rows: v.rows as ModelRow[] };
}
