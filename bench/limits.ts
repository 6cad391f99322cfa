/**
 * This machine's limits as ONNX Runtime sees them: MatMul peak (GFLOP/s on a large square product) and memory
 * bandwidth (GB/s reading a large tensor), plus the process's peak resident memory.
 * @module
 */
import { createSession, f32, Graph, op } from "../lib/onnx/mod.ts";

async function best(run: () => Promise<unknown>, n: number): Promise<number> {
  await run();
  let t = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

/** GFLOP/s of an N×N×N float32 MatMul (best of several runs). */
export async function matmulPeakGflops(threads: number, n = 1536): Promise<number> {
  const g = new Graph("matmul_peak");
  const a = g.input("a", "float32", [n, n]), b = g.input("b", "float32", [n, n]);
  g.output(op.matmul(a, b), "c");
  const s = await createSession(g, { device: "cpu", threads });
  const data = new Float32Array(n * n).fill(0.5);
  const t = await best(() => s.run({ a: f32(data, [n, n]), b: f32(data, [n, n]) }), 5);
  await s.release();
  return (2 * n ** 3) / t / 1e9;
}

/** GB/s reading a 256 MB tensor (ReduceSum). */
export async function memoryBandwidthGbs(threads: number, floats = 64 * 1024 * 1024): Promise<number> {
  const g = new Graph("bandwidth");
  const x = g.input("x", "float32", [floats / 1024, 1024]);
  g.output(op.reduceSum(x, [0, 1]), "s");
  const s = await createSession(g, { device: "cpu", threads });
  const data = new Float32Array(floats).fill(1);
  const t = await best(() => s.run({ x: f32(data, [floats / 1024, 1024]) }), 5);
  await s.release();
  return (floats * 4) / t / 1e9;
}

/** Peak resident memory of this process (VmHWM), in bytes; 0 where /proc is absent. */
export function peakRssBytes(): number {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
