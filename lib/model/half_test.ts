import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";
import { assert, assertEquals } from "../util/assert.ts";

const all16 = Uint16Array.from({ length: 65536 }, (_, i) => i);

Deno.test("half: every float16 and bfloat16 bit pattern widens exactly and narrows back to itself", () => {
  const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
  const isNaNb = (h: number) => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
  const h = f32ToF16(f16ToF32(all16)), b = f32ToBf16(bf16ToF32(all16));
  let badH = 0, badB = 0;
  for (let i = 0; i < 65536; i++) {
    if (isNaN16(i) ? !isNaN16(h[i]) : h[i] !== i) badH++;
    if (isNaNb(i) ? !isNaNb(b[i]) : b[i] !== i) badB++;
  }
  assertEquals([badH, badB], [0, 0]);
});

Deno.test("half: float32 → float16 / bfloat16 rounds to nearest, ties to even; overflow and underflow", () => {
  const f16 = (x: number) => f16ToF32(f32ToF16(new Float32Array([x])))[0];
  const bf16 = (x: number) => bf16ToF32(f32ToBf16(new Float32Array([x])))[0];
  // float16: 10 mantissa bits, ulp(1) = 2^-10
  assertEquals(f16(1 + 2 ** -11), 1); // halfway: even (down)
  assertEquals(f16(1 + 3 * 2 ** -11), 1 + 2 ** -9); // halfway: even (up)
  assertEquals(f16(1 + 2 ** -11 + 2 ** -20), 1 + 2 ** -10); // above halfway
  assertEquals(f16(-2.5), -2.5);
  assertEquals(f16(65504), 65504); // largest finite
  assertEquals(f16(65519), 65504);
  assertEquals(f16(65520), Infinity); // halfway to the next binade: rounds to Infinity
  assertEquals(f16(-1e6), -Infinity);
  assertEquals(f16(2 ** -24), 2 ** -24); // smallest subnormal
  assertEquals(f16(3 * 2 ** -26), 2 ** -24); // 0.75 ulp: up
  assertEquals(f16(2 ** -25), 0); // halfway to the smallest subnormal: even (0)
  assertEquals(f16(5 * 2 ** -25), 2 ** -23); // 2.5 subnormal ulps → 2 (even)
  assertEquals(f16(1e-10), 0);
  assert(Number.isNaN(f16(NaN)));
  // bfloat16: 7 mantissa bits, ulp(1) = 2^-7
  assertEquals(bf16(1 + 2 ** -8), 1);
  assertEquals(bf16(1 + 3 * 2 ** -8), 1 + 2 ** -6);
  assertEquals(bf16(2 ** -130), 2 ** -130); // float32 subnormals stay
  assertEquals(bf16(3.4e38), Infinity);
  assertEquals(bf16(-Infinity), -Infinity);
  assert(Number.isNaN(bf16(NaN)));
});
