import { assert, assertEquals } from "../util/assert.ts";
import { installSigintHandler, StopSignal } from "./stop.ts";

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
