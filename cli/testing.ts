/**
 * Helpers for the CLI end-to-end tests: run or spawn a `cli/*.ts` entry point as a subprocess from the
 * repo root, tiny experiment options (a few seconds per run on the embedded model), and checks on what
 * a run folder holds (every JSON parses, JSONL files have at most a torn last line).
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isWallClockMetric } from "../lib/grpo/mod.ts";
import { readJsonLines } from "../lib/util/mod.ts";
import { assertEquals } from "../lib/util/assert.ts";

/** The repository root (where `deno.json` is). */
export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** Options every reliability test passes so a run takes seconds: the embedded tiny model on one CPU thread. */
export const TINY_PARAMS: Readonly<Record<string, unknown>> = Object.freeze({
  model: "data/tiny",
  device: "cpu",
  threads: 1,
  max_steps: 3,
  num_generations: 2,
  per_device_train_batch_size: 2,
  eval_size: 4,
  eval_steps: 0,
  max_completion_length: 24,
  save_steps: 1,
});

/** `--param key=value` arguments for `params` (values as JSON). */
export function paramArgs(params: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(params).flatMap(([k, v]) => ["--param", `${k}=${JSON.stringify(v)}`]);
}

/** What a finished CLI subprocess printed. */
export interface CliOutput {
  /** Exit code. */
  code: number;
  /** Decoded stdout. */
  stdout: string;
  /** Decoded stderr. */
  stderr: string;
}

/** Options of {@linkcode runCli} and {@linkcode spawnCli}. */
export interface CliOptions {
  /** Environment variables added to the inherited ones. */
  env?: Record<string, string>;
  /** Working folder (default the repo root). */
  cwd?: string;
}

function command(script: string, args: readonly string[], o: CliOptions): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, script), ...args],
    cwd: o.cwd ?? REPO_ROOT,
    env: o.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `deno run -A <script> …args` (script relative to the repo root) to the end. */
export async function runCli(
  script: string,
  args: readonly string[],
  o: CliOptions = {},
): Promise<CliOutput> {
  const out = await command(script, args, o).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A running CLI subprocess whose stderr is collected as it arrives. */
export interface SpawnedCli {
  /** The child process. */
  child: Deno.ChildProcess;
  /** Stderr so far. */
  readonly stderr: string;
  /** Resolves once stderr matches `pattern` (rejects when the process ends first or after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Waits for the exit; returns everything printed. */
  finish(): Promise<CliOutput>;
}

/** Starts `deno run -A <script> …args` and watches its stderr. */
export function spawnCli(script: string, args: readonly string[], o: CliOptions = {}): SpawnedCli {
  const child = command(script, args, o).spawn();
  let err = "", ended = false;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  const stderrDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      err += dec.decode(chunk, { stream: true });
      wake();
    }
    ended = true;
    wake();
  })();
  const stdoutText = new Response(child.stdout).text();
  return {
    child,
    get stderr() {
      return err;
    },
    waitFor(pattern, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern} in stderr:\n${err}`));
        }, timeoutMs);
        const check = () => {
          const m = err.match(pattern);
          if (m || ended) {
            waiters.delete(check);
            clearTimeout(timer);
            if (m) resolve(m);
            else reject(new Error(`process ended before ${pattern} appeared; stderr:\n${err}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async finish() {
      const status = await child.status;
      await stderrDone;
      return { code: status.code, stdout: await stdoutText, stderr: err };
    },
  };
}

/** Every file under `dir` (recursively), as paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

/** What {@linkcode checkRunFiles} found. */
export interface RunFilesReport {
  /** `.json` files that parsed. */
  json: number;
  /** `.jsonl` files read. */
  jsonl: number;
  /** Torn last lines dropped, by file. */
  torn: Record<string, number>;
  /** Leftover temp files or folders of an interrupted atomic write (never read as results). */
  temps: string[];
}

/**
 * Parses every `.json` / `.ipynb` file under `dir` (a parse error throws naming the file) and reads every
 * `.jsonl` (a bad line before the last throws; a torn last line is counted). Temp leftovers of atomic
 * writes (dot-names ending in `.tmp` or `.tmp.old`) are listed, not read.
 */
export async function checkRunFiles(dir: string): Promise<RunFilesReport> {
  const report: RunFilesReport = { json: 0, jsonl: 0, torn: {}, temps: [] };
  for (const path of await listFiles(dir)) {
    const rel = path.slice(dir.length + 1);
    if (rel.split("/").some((part) => part.startsWith(".") && /\.tmp(\.old)?$/.test(part))) {
      report.temps.push(rel);
      continue;
    }
    if (path.endsWith(".json") || path.endsWith(".ipynb")) {
      try {
        JSON.parse(await Deno.readTextFile(path));
      } catch (e) {
        throw new Error(`${path}: torn or invalid JSON (${(e as Error).message})`);
      }
      report.json++;
    } else if (path.endsWith(".jsonl")) {
      const { torn } = await readJsonLines(path);
      if (torn) report.torn[rel] = torn;
      report.jsonl++;
    }
  }
  return report;
}

/** A logged metrics row. */
export type MetricsRow = Record<string, number>;

/**
 * The rows of `<dir>/metrics.jsonl` without the wall-clock fields, for comparing two runs step by step;
 * fails on a torn line unless `allowTorn`.
 */
export async function comparableMetrics(dir: string, o: { allowTorn?: boolean } = {}): Promise<MetricsRow[]> {
  const { rows, torn } = await readJsonLines<MetricsRow>(join(dir, "metrics.jsonl"));
  if (!o.allowTorn) assertEquals(torn, 0, { msg: `${dir}/metrics.jsonl has a torn line` });
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !isWallClockMetric(k))));
}

/** Asserts that run `dir` logged the same steps and the same metrics (wall clock aside) as run `base`. */
export async function assertSameMetrics(dir: string, base: string): Promise<MetricsRow[]> {
  const [a, b] = [await comparableMetrics(base), await comparableMetrics(dir)];
  assertEquals(b.map((r) => r.step), a.map((r) => r.step), { msg: "the same steps are logged" });
  for (let i = 0; i < a.length; i++) assertEquals(b[i], a[i], { msg: `metrics row of step ${a[i].step}` });
  return a;
}

/**
 * `deno task experiment math_hard` arguments for a test run into `out`: `params` (over {@linkcode TINY_PARAMS}
 * by the caller) plus `extra`.
 */
export function mathHardArgs(
  out: string,
  o: { params: Readonly<Record<string, unknown>>; extra?: Record<string, unknown> },
): string[] {
  return ["math_hard", ...paramArgs({ ...o.params, output_dir: out, ...o.extra })];
}
