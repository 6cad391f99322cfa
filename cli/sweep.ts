/**
 * `deno task sweep`: runs a grid of experiments × seeds × models × options, locally or as a Slurm job
 * array, into one sweep folder (`sweep.json` + one folder per run). `--help` shows every flag.
 * @module
 */
import { resolve } from "node:path";
import { parseFlags } from "../lib/util/mod.ts";
import { runMain, UserError } from "../lib/util/mod.ts";
import { writeFileAtomic } from "../lib/util/mod.ts";
import {
  checkSweepSpec,
  k8sJobYaml,
  openSweep,
  readManifest,
  runLines,
  runSweep,
  runSweepTask,
  type SlurmOptions,
  summaryLine,
  type SweepBackend,
  sweepStatus,
} from "../lib/study/mod.ts";
import { parseParams } from "./experiment.ts";
import { signalExitCode } from "../lib/grpo/mod.ts";

const USAGE =
  `usage: deno task sweep [SPEC.json] [grid flags] [backend flags] [--resume | --status | --emit k8s]

grid (flags override SPEC.json's fields):
  --experiments a,b        experiment ids (deno task experiment --help lists them)
  --seeds 1,2,3            seeds (default 1,2,3,4,5)
  --models m1,m2           models (folders or hub ids; default: each experiment's default)
  --param key=value        an option for every run (repeatable)
  --grid key=v1,v2         an option swept over values (repeatable; or key=[json list])
  --out DIR                the sweep folder (default outputs/sweep): sweep.json, logs/, one folder per run

backends:
  --backend local|slurm    local: runs here (default; --resume: the sweep's own); slurm: one job array
  --parallel N             local: N runs side by side, threads split between them
  --threads N              local: threads in all (default: every core)
  --partition P --time T --cpus-per-task N --mem M --gres G --max-parallel N
  --signal-lead S          slurm with --time: SIGTERM S seconds before the limit (default 120); the run
                           checkpoints and the task requeues itself, resuming from that checkpoint
  --sbatch LINE            an extra #SBATCH line, e.g. --sbatch=--qos=long (repeatable)
  --no-wait                slurm: submit and return (follow later with --status)
  --poll S                 slurm: seconds between squeue/sacct polls (default 5)
  --timeout S              slurm: stop following after S seconds (the jobs keep running)

  --resume                 continue the sweep in --out: keeps what is done, restarts the rest from checkpoints
                           (Ctrl-C or SIGTERM stops a local sweep: no new run starts, the running ones
                           checkpoint and are marked interrupted)
  --status                 print every run's state (pending, running, done, failed with the reason)
  --emit k8s               write <out>/k8s-job.yaml, a Kubernetes Indexed Job for the grid (not run)
  --image I --claim C      the image and volume claim of the k8s job

internal: deno task sweep task DIR INDEX [--threads N]   (what each scheduler task runs)`;

const FLAGS = {
  experiments: { type: "string" },
  seeds: { type: "string" },
  models: { type: "string" },
  param: { type: "string", multiple: true, short: "p" },
  grid: { type: "string", multiple: true },
  out: { type: "string" },
  backend: { type: "string" },
  parallel: { type: "string" },
  threads: { type: "string" },
  partition: { type: "string" },
  time: { type: "string" },
  "cpus-per-task": { type: "string" },
  mem: { type: "string" },
  gres: { type: "string" },
  "max-parallel": { type: "string" },
  "signal-lead": { type: "string" },
  sbatch: { type: "string", multiple: true },
  "no-wait": { type: "boolean" },
  poll: { type: "string" },
  timeout: { type: "string" },
  resume: { type: "boolean" },
  status: { type: "boolean" },
  emit: { type: "string" },
  image: { type: "string" },
  claim: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--${flag} must be a positive integer, got "${v}"`);
  return n;
}

const list = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);

function json(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** `--grid key=v1,v2` (or `key=[…]`) → [key, values]. */
function gridFlag(item: string): [string, unknown[]] {
  const eq = item.indexOf("=");
  if (eq <= 0) throw new UserError(`--grid ${JSON.stringify(item)}: expected key=v1,v2`);
  const raw = item.slice(eq + 1).trim();
  const values = raw.startsWith("[") ? json(raw) : list(raw).map(json);
  if (!Array.isArray(values)) throw new UserError(`--grid ${item}: not a JSON list`);
  return [item.slice(0, eq).trim(), values];
}

async function readSpecFile(path: string): Promise<Record<string, unknown>> {
  try {
    const v = JSON.parse(await Deno.readTextFile(path));
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v;
  } catch (e) {
    throw new UserError(
      `${path}: cannot read the sweep description (${(e as Error).message.split("\n")[0]})`,
    );
  }
}

async function task(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, { threads: { type: "string" } }, { positionals: true });
  if (positionals.length !== 2 || !/^\d+$/.test(positionals[1])) {
    throw new UserError("usage: deno task sweep task DIR INDEX [--threads N]");
  }
  const rec = await runSweepTask(resolve(positionals[0]), Number(positionals[1]), {
    threads: positiveInt(values.threads, "threads"),
  });
  if (rec.state !== "done") Deno.exit(rec.state === "interrupted" ? signalExitCode("SIGTERM") : 1);
}

async function main(): Promise<void> {
  if (Deno.args[0] === "task") return await task(Deno.args.slice(1));
  const { values: f, positionals } = parseFlags(Deno.args, FLAGS, { positionals: true });
  if (f.help) return console.log(USAGE);
  if (positionals.length > 1) throw new UserError(`unexpected argument "${positionals[1]}"; see --help`);
  const raw: Record<string, unknown> = positionals.length ? await readSpecFile(positionals[0]) : {};
  if (f.experiments !== undefined) raw.experiments = list(f.experiments);
  if (f.seeds !== undefined) raw.seeds = list(f.seeds).map((s) => (/^-?\d+$/.test(s) ? Number(s) : s));
  if (f.models !== undefined) raw.models = list(f.models);
  if (f.param?.length) raw.params = { ...(raw.params as object ?? {}), ...parseParams(f.param) };
  if (f.grid?.length) {
    raw.grid = { ...(raw.grid as object ?? {}), ...Object.fromEntries(f.grid.map(gridFlag)) };
  }
  if (f.out !== undefined) raw.output_dir = f.out;
  raw.output_dir ??= "outputs/sweep";
  const gridGiven = positionals.length ||
    ["experiments", "seeds", "models", "param", "grid"].some((k) => k in f);
  const out = resolve(raw.output_dir as string);

  if (f.status) {
    const m = await sweepStatus(out);
    for (const l of runLines(m.runs)) console.log(l);
    return console.log(summaryLine(m.runs));
  }
  // --resume with only --out: the description comes from the folder's sweep.json.
  const spec = f.resume && !gridGiven ? { ...(await readManifest(out)).spec, output_dir: out } : raw;
  if (f.emit !== undefined) {
    if (f.emit !== "k8s") throw new UserError(`--emit ${f.emit}: only "k8s" is known`);
    const { dir, manifest } = await openSweep(checkSweepSpec(spec), { backend: "k8s", resume: true });
    const name = `grpo-sweep-${dir.split("/").filter(Boolean).at(-1)}`.toLowerCase().replace(
      /[^a-z0-9-]+/g,
      "-",
    );
    const path = `${dir}/k8s-job.yaml`;
    await writeFileAtomic(
      path,
      k8sJobYaml(manifest, name.slice(0, 52), {
        image: f.image,
        claim: f.claim,
        cpus: positiveInt(f["cpus-per-task"], "cpus-per-task"),
        memory: f.mem?.replace(/([GM])$/, "$1i"),
        parallelism: positiveInt(f["max-parallel"], "max-parallel"),
        gpus: f.gres ? Number(/(\d+)$/.exec(f.gres)?.[1] ?? 1) : undefined,
      }),
    );
    return console.log(`wrote ${path} (${manifest.runs.length} runs; kubectl apply -f ${path})`);
  }
  const backend = f.backend as SweepBackend | undefined; // default: local, or the resumed sweep's
  const slurm: SlurmOptions = {
    partition: f.partition,
    time: f.time,
    cpus_per_task: positiveInt(f["cpus-per-task"], "cpus-per-task"),
    mem: f.mem,
    gres: f.gres,
    sbatch_lines: f.sbatch,
    max_parallel: positiveInt(f["max-parallel"], "max-parallel"),
    signal_lead: positiveInt(f["signal-lead"], "signal-lead"),
  };
  const poll = f.poll === undefined ? undefined : Number(f.poll);
  if (poll !== undefined && !(poll > 0)) {
    throw new UserError(`--poll must be a positive number, got "${f.poll}"`);
  }
  const { dir, manifest, interrupted, stoppedBy } = await runSweep(spec, {
    backend,
    resume: f.resume,
    parallel: positiveInt(f.parallel, "parallel"),
    threads: positiveInt(f.threads, "threads"),
    slurm,
    wait: !f["no-wait"],
    poll,
    timeout: positiveInt(f.timeout, "timeout"),
  });
  for (const l of runLines(manifest.runs)) console.log(l);
  console.log(`${summaryLine(manifest.runs)}; sweep folder ${dir}`);
  if (interrupted) Deno.exit(signalExitCode(stoppedBy ?? "SIGINT"));
  if (manifest.runs.some((r) => r.state === "failed")) Deno.exit(1);
}

if (import.meta.main) await runMain(main);
