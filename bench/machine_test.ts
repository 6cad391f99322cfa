/** The busy verdict counts other processes' CPU time only, never the bench's own. */
import {
  type CpuSample,
  machineVerdict,
  otherShare,
  parsePidStat,
  parseProcStat,
  readCpu,
} from "./machine.ts";
import { assert, assertAlmostEquals, assertEquals } from "../lib/util/assert.ts";

Deno.test("machine: /proc/stat and /proc/<pid>/stat lines parse (a command name with spaces and parens)", () => {
  const stat = "cpu  100 5 50 800 20 3 2 1 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n";
  assertEquals(parseProcStat(stat), { total: 981, busy: 161 });
  const pid = "42 (deno (x) y) S 7 42 42 0 -1 4194560 1 0 0 0 30 12 4 2 20 0 9 0";
  assertEquals(parsePidStat(pid), { ppid: 7, ticks: 30 + 12 + 4 + 2 });
});

Deno.test("machine: the bench's own CPU time is not 'someone else'", () => {
  const s = (total: number, busy: number, own: number): CpuSample => ({ at: 0, total, busy, own });
  // the bench alone keeps both cores busy: quiet
  const alone = { start: s(0, 0, 0), end: s(200, 195, 190) };
  assertAlmostEquals(otherShare(alone.start, alone.end)!, 0.025);
  assertEquals(machineVerdict(alone, { waitedS: 0, share: 0 }).busy, false);
  // another process took half a core over the run: busy, with the share in the reason
  const shared = { start: s(0, 0, 0), end: s(200, 200, 150) };
  const v = machineVerdict(shared, { waitedS: 3, share: 0.02 });
  assert(v.busy && v.reasons[0].includes("25%"), JSON.stringify(v));
  assertAlmostEquals(v.otherShare!, 0.25);
  // still busy after the settling wait: busy, even if the run itself was quiet
  assertEquals(machineVerdict(alone, { waitedS: 60, share: 0.5 }).busy, true);
  // counters that did not move: no verdict from them
  assertEquals(otherShare(s(5, 5, 5), s(5, 5, 5)), null);
});

Deno.test("machine: this process's own busy loop counts as its own time", () => {
  const a = readCpu();
  if (!a.total) return; // no /proc here
  // spin until 5 ticks (50 ms of CPU) are ours, however loaded the machine: a tree that never counted would
  // spin for the full 20 s and fail
  const t0 = performance.now();
  let b = readCpu(), x = 0;
  while (b.own - a.own < 5 && performance.now() - t0 < 20_000) {
    for (let i = 0; i < 1e6; i++) x += Math.sqrt(i);
    b = readCpu();
  }
  assert(b.own - a.own >= 5, `own ticks ${b.own - a.own} after 20 s of spinning (${x > 0})`);
  assert(b.own - a.own <= b.busy - a.busy + 2, "own time cannot exceed the machine's busy time");
});
