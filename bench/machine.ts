/**
 * Is anything else using the cores? "Busy" means other processes ran: the machine's non-idle CPU time over the
 * run (`/proc/stat`) minus this process tree's own (`/proc/<pid>/stat` of this process and its descendants,
 * children that ended included). The load average and CPU pressure are not used: both count the bench's own
 * threads (and the decaying load of a command that has already ended) as "someone else".
 * @module
 */

/** One reading of the CPU counters, in clock ticks (USER_HZ). */
export interface CpuSample {
  /** When it was read (ms, performance.now()). */
  at: number;
  /** All CPUs' time, idle included (the machine's capacity so far). */
  total: number;
  /** All CPUs' non-idle time (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** This process tree's CPU time (user + system, its ended children included). */
  own: number;
}

/** Non-idle and total ticks from the first line of `/proc/stat` (null without /proc). */
export function parseProcStat(text: string): { total: number; busy: number } | null {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return null;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = [...f, 0, 0, 0, 0, 0, 0, 0, 0];
  const busy = user + nice + system + irq + softirq + steal;
  return { total: busy + idle + iowait, busy };
}

/** Parent pid and CPU ticks (utime + stime + cutime + cstime) from a `/proc/<pid>/stat` line. */
export function parsePidStat(text: string): { ppid: number; ticks: number } | null {
  const close = text.lastIndexOf(")"); // the command name may hold spaces and parentheses
  if (close < 0) return null;
  const f = text.slice(close + 2).trim().split(/\s+/); // f[0] = state (field 3)
  const ppid = Number(f[1]), ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return Number.isFinite(ppid) && Number.isFinite(ticks) ? { ppid, ticks } : null;
}

/** CPU ticks of process `root` and its live descendants (ended, waited-for children count in their parent). */
function treeTicks(root: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const s = parsePidStat(Deno.readTextFileSync(`/proc/${e.name}/stat`));
        if (s) stats.set(Number(e.name), s);
      } catch { /* ended meanwhile */ }
    }
  } catch {
    return 0;
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let ticks = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    ticks += stats.get(pid)?.ticks ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

/** Reads the counters now (zeros where /proc is absent). */
export function readCpu(): CpuSample {
  const at = performance.now();
  let m: { total: number; busy: number } | null = null;
  try {
    m = parseProcStat(Deno.readTextFileSync("/proc/stat"));
  } catch { /* no /proc */ }
  return { at, total: m?.total ?? 0, busy: m?.busy ?? 0, own: m ? treeTicks(Deno.pid) : 0 };
}

/**
 * Share of the machine's CPU capacity (all cores) used by other processes between `a` and `b`, in [0, 1];
 * null when the counters did not move (no /proc, or too short an interval).
 */
export function otherShare(a: CpuSample, b: CpuSample): number | null {
  const total = b.total - a.total;
  if (!(total > 0)) return null;
  const other = (b.busy - a.busy) - (b.own - a.own);
  return Math.min(1, Math.max(0, other / total));
}

/** Other processes above this share of the machine's CPU time make it busy. */
export const BUSY_SHARE = 0.1;

/**
 * Waits (at most `maxS` seconds, checking each second) until other processes use less than
 * {@linkcode BUSY_SHARE} of the CPU for two consecutive seconds: the tail of a previous command settling.
 * Returns how long it waited and the last second's share.
 */
export async function waitForQuiet(maxS: number): Promise<{ waitedS: number; share: number | null }> {
  const t0 = performance.now();
  let prev = readCpu(), quietFor = 0, share: number | null = null;
  while ((performance.now() - t0) / 1000 < maxS) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = readCpu();
    share = otherShare(prev, now);
    prev = now;
    if (share === null) break; // nothing to measure with
    quietFor = share < BUSY_SHARE ? quietFor + 1 : 0;
    if (quietFor >= 2) break;
  }
  return { waitedS: (performance.now() - t0) / 1000, share };
}

/** The verdict over a benchmark run. */
export interface MachineVerdict {
  busy: boolean;
  /** Why it counts as busy (empty when quiet). */
  reasons: string[];
  /** Share of the machine's CPU time other processes used during the run (null without /proc). */
  otherShare: number | null;
  /** Share other processes used in the last second before the run started. */
  otherShareBefore: number | null;
  /** Seconds waited for the machine to settle before starting. */
  settledAfterS: number;
}

/** Busy when other processes used ≥ {@linkcode BUSY_SHARE} of the CPU before the start or over the run. */
export function machineVerdict(
  run: { start: CpuSample; end: CpuSample },
  settle: { waitedS: number; share: number | null },
): MachineVerdict {
  const reasons: string[] = [];
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  if ((settle.share ?? 0) >= BUSY_SHARE) {
    reasons.push(
      `other processes used ${pct(settle.share!)} of the CPU after ${settle.waitedS.toFixed(0)} s of waiting`,
    );
  }
  const share = otherShare(run.start, run.end);
  if ((share ?? 0) >= BUSY_SHARE) {
    reasons.push(`other processes used ${pct(share!)} of the CPU during the run`);
  }
  return {
    busy: reasons.length > 0,
    reasons,
    otherShare: share,
    otherShareBefore: settle.share,
    settledAfterS: settle.waitedS,
  };
}
