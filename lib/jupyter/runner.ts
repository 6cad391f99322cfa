/**
 * The headless notebook runner: executes a Deno notebook cell by cell in a real `deno jupyter`
 * kernel (working folder = the notebook's folder, as Jupyter does), collects the outputs in
 * nbformat 4 shape and writes the executed notebook atomically after every cell.
 *
 * Live displays: a `display_data` carrying `transient.display_id` is remembered; a later
 * `update_display_data` for that id replaces the data/metadata of every output shown under it, in
 * place, as Jupyter's nbclient does (`update_display_data` is not an nbformat output type, so it
 * never appears in `outputs`). The number of each iopub message type a cell produced is returned in
 * {@linkcode CellReport.messages} so callers can see the updates arrived.
 * @module
 */
import { existsSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { joinSource, type Notebook, type Output, readNotebook, writeNotebook } from "./nbformat.ts";
import { injectParameters } from "./params.ts";
import { UserError } from "../util/mod.ts";
import { Kernel } from "./kernel.ts";
import {
  CellInterruptedError,
  CellTimeoutError,
  type ExecuteOutcome,
  KernelDiedError,
} from "./kernel_support.ts";
import { defaultStream, finalize, oneLine, OutputCollector, stripAnsi } from "./outputs.ts";

export { stripAnsi } from "./outputs.ts";

/** Options of {@linkcode runNotebook}. */
export interface RunNotebookOptions {
  /** Parameter overrides (values already parsed), injected after the `parameters` cell. */
  params?: Record<string, unknown>;
  /** Folder for the executed notebook (default `outputs/notebooks`, relative to the current folder). */
  outDir?: string;
  /** Exact output path (overrides `outDir`). */
  outPath?: string;
  /** Per-cell time limit in ms (0 or absent: none). */
  timeoutMs?: number;
  /** Kernel working folder (default: the notebook's folder). */
  cwd?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Kernel stream text as it arrives (default: this process's stdout/stderr). */
  onStream?: (name: "stdout" | "stderr", text: string) => void;
  /** Aborting stops the run (the current cell gets an error output; the notebook is still written). */
  signal?: AbortSignal;
}

/** How one code cell went. */
export interface CellReport {
  /** 1-based number among the executed notebook's code cells, injected cell included (as in progress lines). */
  number: number;
  /** Index in `notebook.cells`. */
  index: number;
  /** What happened. */
  status: "ok" | "error" | "skipped" | "not-run";
  /** Wall seconds. */
  seconds: number;
  /** Count of each iopub message type received for this cell (e.g. `update_display_data`). */
  messages: Record<string, number>;
}

/** The failure that stopped a run. */
export interface CellFailure {
  /** 1-based code cell number. */
  cell: number;
  /** Index in `notebook.cells`. */
  index: number;
  /** Error name, e.g. `ReferenceError`, `CellTimeoutError`, `KernelDiedError`. */
  ename: string;
  /** Error message. */
  evalue: string;
  /** Traceback lines (may hold ANSI colour codes). */
  traceback: string[];
}

/**
 * Where a failed run's executed copy goes: `<name>.failed.ipynb` beside `outPath`, so that the last good
 * copy at `outPath` is kept.
 */
export function failedPath(outPath: string): string {
  return outPath.replace(/(\.ipynb)?$/, ".failed.ipynb");
}

/** Where a run's executed copy is written while cells still run: `<name>.running.ipynb` beside `outPath`. */
export function runningPath(outPath: string): string {
  return outPath.replace(/(\.ipynb)?$/, ".running.ipynb");
}

/** Result of {@linkcode runNotebook}. */
export interface RunNotebookResult {
  /** The executed notebook, as written. */
  notebook: Notebook;
  /** Where it was written: `outPath` when it ran through, else {@linkcode failedPath} (the good copy is kept). */
  outPath: string;
  /** True when every cell ran without error. */
  ok: boolean;
  /** The failure, when `ok` is false. */
  error?: CellFailure;
  /** One report per code cell. */
  cells: CellReport[];
  /** Wall seconds for the whole run (kernel start included). */
  seconds: number;
}

/** One line `cell 4 failed: ReferenceError: y is not defined` (ANSI stripped, newlines folded). */
export function formatFailure(f: CellFailure): string {
  return stripAnsi(`cell ${f.cell} failed: ${f.ename}: ${f.evalue}`).replace(/\s*\n\s*/g, " ");
}

/**
 * Runs the notebook at `path` and writes the executed copy to `outputs/notebooks/<name>.ipynb`
 * (or `options.outPath` / `options.outDir`). While it runs the copy is `<name>.running.ipynb`,
 * rewritten after every cell; it becomes `<name>.ipynb` only when every cell ran (a stale
 * `<name>.failed.ipynb` is then removed). Bad notebooks and bad parameters throw a UserError before any
 * kernel starts; a failing cell, a timeout or a dead kernel does not throw: the run stops there, the
 * notebook (with the error output) is written as `<name>.failed.ipynb`, the last good `<name>.ipynb` is
 * kept, and `result.error` describes it.
 */
export async function runNotebook(
  path: string,
  options: RunNotebookOptions = {},
): Promise<RunNotebookResult> {
  const t0 = performance.now();
  const startTime = new Date().toISOString();
  const log = options.log ?? ((l: string) => console.error(l));
  const userStream = options.onStream ?? defaultStream;
  const params = options.params ?? {};
  const nb = injectParameters(await readNotebook(path), params, { file: path });
  const outPath = options.outPath ??
    join(options.outDir ?? join("outputs", "notebooks"), basename(path, extname(path)) + ".ipynb");
  if (resolve(outPath) === resolve(path)) {
    throw new UserError(
      `${path}: refusing to overwrite the input notebook with outputs; choose another --out`,
    );
  }
  const code = nb.cells.map((c, i) => ({ c, i })).filter(({ c }) => c.cell_type === "code");
  for (const { c } of code) {
    c.outputs = [];
    c.execution_count = null;
  }
  const reports: CellReport[] = code.map(({ i }, k) => ({
    number: k + 1,
    index: i,
    status: "not-run",
    seconds: 0,
    messages: {},
  }));
  let atLineStart = true;
  const stream = (name: "stdout" | "stderr", text: string) => {
    if (!text) return;
    userStream(name, text);
    atLineStart = text.endsWith("\n");
  };
  const say = (line: string) => {
    if (!atLineStart) userStream("stderr", "\n");
    atLineStart = true;
    log(line);
  };
  let failure: CellFailure | undefined;
  const write = async () => {
    const out = finalize(nb);
    out.metadata.runner = {
      input_path: path,
      parameters: params,
      start_time: startTime,
      end_time: new Date().toISOString(),
      duration_s: Math.round((performance.now() - t0) / 10) / 100,
      status: failure ? "failed" : reports.every((r) => r.status !== "not-run") ? "completed" : "running",
      ...(failure ? { failed_cell: failure.cell, error: formatFailure(failure) } : {}),
    };
    await writeNotebook(running, out);
    return out;
  };
  const running = runningPath(outPath), failed = failedPath(outPath);

  say(`running ${path} (${code.length} code cells) → ${outPath}`);
  const kernel = await Kernel.start({ cwd: options.cwd ?? dirname(resolve(path)), onLog: say });
  const displays = new Map<string, Output[]>();
  try {
    for (const [k, { c }] of code.entries()) {
      const report = reports[k];
      const tag = `[cell ${k + 1}/${code.length}]`;
      const source = joinSource(c.source);
      if (!source.trim()) {
        report.status = "skipped";
        say(`${tag} empty, skipped`);
        continue;
      }
      say(`${tag} running… ${oneLine(source.split("\n").find((l) => l.trim()) ?? "", 70)}`);
      const collector = new OutputCollector(c, { displays, log: say, stream });
      const t = performance.now();
      let outcome: ExecuteOutcome | undefined;
      try {
        outcome = await kernel.execute(source, {
          timeoutMs: options.timeoutMs,
          signal: options.signal,
          onIopub: (m) => collector.handle(m),
        });
      } catch (e) {
        if (
          !(e instanceof CellTimeoutError || e instanceof KernelDiedError ||
            e instanceof CellInterruptedError)
        ) {
          throw e;
        }
        // Ctrl-C also reaches the kernel (same process group): report the interrupt, not its death.
        const name = options.signal?.aborted ? "CellInterruptedError" : e.name;
        const msg = options.signal?.aborted ? `cell ${k + 1} was interrupted` : `cell ${k + 1}: ${e.message}`;
        c.outputs!.push({ output_type: "error", ename: name, evalue: msg, traceback: [`${name}: ${msg}`] });
      }
      report.seconds = (performance.now() - t) / 1000;
      report.messages = collector.counts;
      if (outcome) c.execution_count = outcome.executionCount;
      const err = c.outputs!.find((o) => o.output_type === "error");
      if (outcome?.status === "ok" && !err) {
        report.status = "ok";
        say(`${tag} done in ${report.seconds.toFixed(1)}s`);
        await write();
        continue;
      }
      report.status = "error";
      const r = outcome?.reply ?? {};
      if (err?.output_type === "error") {
        failure = {
          cell: k + 1,
          index: report.index,
          ename: err.ename,
          evalue: err.evalue,
          traceback: err.traceback,
        };
      } else {
        // The reply says error but no iopub error output came: record the reply's error as the output.
        const ename = String(r.ename ?? "Error"),
          evalue = String(r.evalue ?? `execute_reply ${outcome?.status}`);
        const traceback = Array.isArray(r.traceback) ? r.traceback.map(String) : [`${ename}: ${evalue}`];
        c.outputs!.push({ output_type: "error", ename, evalue, traceback });
        failure = { cell: k + 1, index: report.index, ename, evalue, traceback };
      }
      say(`${tag} failed after ${report.seconds.toFixed(1)}s`);
      for (
        const line of failure.traceback.length ? failure.traceback : [`${failure.ename}: ${failure.evalue}`]
      ) {
        say(`  ${line}`);
      }
      break;
    }
  } catch (e) {
    await Deno.rename(running, failed).catch(() => {}); // whatever ran so far, marked failed
    throw e;
  } finally {
    await kernel.shutdown();
  }
  const written = await write();
  const seconds = (performance.now() - t0) / 1000;
  const final = failure ? failed : outPath;
  await Deno.rename(running, final);
  if (!failure) await Deno.remove(failed).catch(() => {}); // superseded by this good run
  say(
    `${failure ? "stopped" : "finished"} in ${seconds.toFixed(1)}s; wrote ${final}${
      failure && existsSync(outPath) ? ` (the last good run stays in ${outPath})` : ""
    }`,
  );
  return { notebook: written, outPath: final, ok: !failure, error: failure, cells: reports, seconds };
}
