/**
 * Is anything else using the cores? The benchmark reads `/proc/loadavg` and `/proc/pressure/cpu` before and
 * after its runs: load from other processes before it starts, or CPU pressure (time in which runnable tasks
 * waited for a core) during its runs, mark the machine busy, and the numbers as not quiet.
 * @module
 */

/** One reading of the machine's load. */
export interface LoadReading {
  /** 1-minute load average. */
  load1: number;
  /** Runnable + running tasks right now (4th field of /proc/loadavg, before the slash). */
  running: number;
  /** `some` CPU pressure, 10 s average (%), null without PSI. */
  someAvg10: number | null;
  /** `some` CPU pressure total stall time (µs), null without PSI. */
  someTotalUs: number | null;
  /** When it was read (ms, performance.now()). */
  at: number;
}

/** Reads /proc/loadavg and /proc/pressure/cpu (fields null or 0 where absent). */
export function readLoad(): LoadReading {
  const at = performance.now();
  let load1 = 0, running = 0, someAvg10: number | null = null, someTotalUs: number | null = null;
  try {
    const f = Deno.readTextFileSync("/proc/loadavg").trim().split(/\s+/);
    load1 = Number(f[0]);
    running = Number(f[3].split("/")[0]);
  } catch { /* no /proc: zeros */ }
  try {
    const some = Deno.readTextFileSync("/proc/pressure/cpu").split("\n").find((l) => l.startsWith("some"));
    const m = some?.match(/avg10=([\d.]+).*total=(\d+)/);
    if (m) [someAvg10, someTotalUs] = [Number(m[1]), Number(m[2])];
  } catch { /* no PSI */ }
  return { load1, running, someAvg10, someTotalUs, at };
}

/** The verdict over a benchmark run. */
export interface MachineVerdict {
  busy: boolean;
  /** Why it counts as busy (empty when quiet). */
  reasons: string[];
  before: LoadReading;
  after: LoadReading;
  /** Share of the run's wall time in which some task waited for a CPU (null without PSI). */
  stallShare: number | null;
}

/**
 * Busy when, before the run, the 1-minute load was ≥ 0.5 or CPU pressure ≥ 5 %, or when, over the run,
 * tasks waited for a CPU more than 10 % of the time (our own threads never exceed the cores they were given,
 * so waiting means someone else ran).
 */
export function machineVerdict(before: LoadReading, after: LoadReading): MachineVerdict {
  const reasons: string[] = [];
  if (before.load1 >= 0.5) reasons.push(`load average ${before.load1.toFixed(2)} before the run`);
  if ((before.someAvg10 ?? 0) >= 5) reasons.push(`CPU pressure ${before.someAvg10}% before the run`);
  let stallShare: number | null = null;
  if (before.someTotalUs !== null && after.someTotalUs !== null && after.at > before.at) {
    stallShare = (after.someTotalUs - before.someTotalUs) / 1000 / (after.at - before.at);
    if (stallShare > 0.1) reasons.push(`tasks waited for a CPU ${(100 * stallShare).toFixed(0)}% of the run`);
  }
  return { busy: reasons.length > 0, reasons, before, after, stallShare };
}
