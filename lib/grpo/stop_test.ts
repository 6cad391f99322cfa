import { assert, assertEquals } from "../util/assert.ts";
import { installSigintHandler, installStopHandler, signalExitCode, StopSignal } from "./stop.ts";

Deno.test("StopSignal keeps the first reason", () => {
  const s = new StopSignal();
  assertEquals([s.requested, s.reason], [false, null]);
  s.request("SIGINT");
  s.request("later");
  assertEquals([s.requested, s.reason], [true, "SIGINT"]);
});

Deno.test({
  name:
    "signal handler: the first signal requests a stop, the second forces; removable (SIGUSR2 stands in for SIGINT, which the test runner owns)",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const s = new StopSignal();
    const lines: string[] = [];
    let forced = 0;
    const remove = installSigintHandler(s, {
      log: (l) => lines.push(l),
      onForce: () => forced++,
      signal: "SIGUSR2",
      repeatMs: 0,
    });
    Deno.kill(Deno.pid, "SIGUSR2");
    for (let i = 0; i < 100 && !s.requested; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals([s.requested, s.reason, forced], [true, "SIGUSR2", 0]);
    assert(lines[0].includes("finishing the current step"), lines[0]);
    Deno.kill(Deno.pid, "SIGUSR2");
    for (let i = 0; i < 100 && !forced; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(forced, 1);
    remove();
    // Removed: a new handler for another StopSignal sees the next signal, the old one does not count it.
    const other = new StopSignal();
    const remove2 = installSigintHandler(other, { log: () => {}, onForce: () => {}, signal: "SIGUSR2" });
    Deno.kill(Deno.pid, "SIGUSR2");
    for (let i = 0; i < 100 && !other.requested; i++) await new Promise((r) => setTimeout(r, 10));
    remove2();
    assertEquals([other.requested, forced], [true, 1]);
  },
});

Deno.test({
  name:
    "stop handler: SIGTERM and another signal both request the stop; repeats within repeatMs are one request, a later one forces",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const s = new StopSignal();
    const lines: string[] = [];
    const forced: string[] = [];
    const remove = installStopHandler(s, {
      signals: ["SIGTERM", "SIGUSR1"],
      log: (l) => lines.push(l),
      onForce: (sig) => forced.push(sig),
      repeatMs: 300,
    });
    try {
      const wait = async (cond: () => boolean) => {
        for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      };
      Deno.kill(Deno.pid, "SIGTERM");
      await wait(() => s.requested);
      Deno.kill(Deno.pid, "SIGUSR1"); // the same request delivered twice (process group + a forwarding parent)
      await new Promise((r) => setTimeout(r, 100));
      assertEquals([s.reason, forced, lines.length], ["SIGTERM", [], 1]);
      assert(lines[0].startsWith("SIGTERM: finishing the current step, then writing a checkpoint"), lines[0]);
      await new Promise((r) => setTimeout(r, 300));
      Deno.kill(Deno.pid, "SIGUSR1");
      await wait(() => forced.length > 0);
      assertEquals(forced, ["SIGUSR1"]);
    } finally {
      remove();
    }
    assertEquals([signalExitCode("SIGINT"), signalExitCode("SIGTERM")], [130, 143]);
  },
});
