import { assert } from "../util/assert.ts";
import { Graph } from "./graph.ts";
import * as op from "./ops.ts";
import { createSession } from "./session.ts";

Deno.test("device auto: at most one CUDA notice per process, however many sessions", async () => {
  const lines: string[] = [];
  const [err, log] = [console.error, console.log];
  console.error = (...a: unknown[]) => void lines.push(a.join(" "));
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    for (let i = 0; i < 3; i++) {
      const g = new Graph();
      g.output(op.neg(g.input("x", "float32", [2])), "y");
      const s = await createSession(g, { device: "auto" });
      await s.release();
    }
  } finally {
    [console.error, console.log] = [err, log];
  }
  assert(lines.filter((l) => l.includes("CUDA")).length <= 1, lines.join("\n"));
});
