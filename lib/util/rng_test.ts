import { Rng } from "./rng.ts";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";

Deno.test("Rng: same seed gives same stream, different seeds differ", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xa = Array.from({ length: 8 }, () => a.nextU32());
  assertEquals(xa, Array.from({ length: 8 }, () => b.nextU32()));
  assert(xa.some((x, i) => x !== [c.nextU32()][0] || i < 0));
});

Deno.test("Rng: state round-trips exactly", () => {
  const a = new Rng(7);
  for (let i = 0; i < 5; i++) a.float();
  const b = Rng.fromState(a.state());
  assertEquals(Array.from({ length: 5 }, () => a.float()), Array.from({ length: 5 }, () => b.float()));
});

Deno.test("Rng: float in [0,1) with mean 1/2; normal has mean 0, var 1", () => {
  const r = new Rng(1);
  const n = 20000;
  let s = 0, m = 0, v = 0;
  for (let i = 0; i < n; i++) {
    const x = r.float();
    assert(x >= 0 && x < 1);
    s += x;
  }
  assertAlmostEquals(s / n, 0.5, { tol: 0.01 });
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    m += x;
    v += x * x;
  }
  assertAlmostEquals(m / n, 0, { tol: 0.03 });
  assertAlmostEquals(v / n, 1, { tol: 0.05 });
});
