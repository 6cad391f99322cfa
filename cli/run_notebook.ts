/**
 * `deno task run-notebook <path> [--param key=value …] [--out DIR] [--timeout S]`
 *
 * Executes a Deno notebook headlessly in a real `deno jupyter` kernel and writes the executed copy
 * to `outputs/notebooks/<name>.ipynb` (or DIR). Exit codes: 0 ok; 1 a cell failed, timed out or the
 * kernel died (the notebook with the error output is written as `<name>.failed.ipynb`; the last good
 * `<name>.ipynb` is kept); 2 bad input (UserError);
 * 130 interrupted with Ctrl-C.
 * @module
 */
import { parseFlags, runMain, UserError } from "../lib/util/mod.ts";
import { formatFailure, parseParamArgs, runNotebook } from "../lib/jupyter/mod.ts";

const USAGE =
  "usage: deno task run-notebook <path.ipynb> [--param key=value …] [--out DIR] [--timeout SECONDS]";

/** Parsed command line of the runner. */
export interface RunNotebookArgs {
  /** Notebook path. */
  path: string;
  /** Parameter overrides. */
  params: Record<string, unknown>;
  /** Output folder, when given. */
  outDir?: string;
  /** Per-cell limit in seconds, when given. */
  timeoutS?: number;
}

/** Parses the runner's arguments; anything wrong → {@linkcode UserError}. */
export function parseRunArgs(args: string[]): RunNotebookArgs {
  let parsed;
  try {
    parsed = parseFlags(args, {
      param: { type: "string", multiple: true, short: "p" },
      out: { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h" },
    }, { positionals: true });
  } catch (e) {
    throw new UserError(`${(e as Error).message}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (positionals.length !== 1) {
    throw new UserError(`expected one notebook path, got ${positionals.length}; ${USAGE}`);
  }
  let timeoutS: number | undefined;
  if (values.timeout !== undefined) {
    timeoutS = Number(values.timeout);
    if (!(timeoutS > 0) || !Number.isFinite(timeoutS)) {
      throw new UserError(
        `--timeout ${JSON.stringify(values.timeout)}: expected a positive number of seconds`,
      );
    }
  }
  return { path: positionals[0], params: parseParamArgs(values.param ?? []), outDir: values.out, timeoutS };
}

async function main(): Promise<void> {
  const args = parseRunArgs(Deno.args);
  const abort = new AbortController();
  const onInt = () => {
    if (abort.signal.aborted) Deno.exit(130);
    console.error("\ninterrupted: stopping the kernel and writing the notebook (Ctrl-C again to quit now)");
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onInt);
  try {
    const result = await runNotebook(args.path, {
      params: args.params,
      outDir: args.outDir,
      timeoutMs: args.timeoutS ? args.timeoutS * 1000 : undefined,
      signal: abort.signal,
    });
    if (result.error) {
      console.error(`error: ${formatFailure(result.error)}`);
      Deno.exit(result.error.ename === "CellInterruptedError" ? 130 : 1);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
  }
}

if (import.meta.main) runMain(main);
