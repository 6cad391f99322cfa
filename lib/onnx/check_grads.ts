/**
 * Finite-difference gradient checking: the slow, obviously-correct reference that every VJP rule is tested
 * against. Graphs are built in float64; the output is reduced to a scalar with fixed random weights, and
 * central differences are compared with the analytic gradients from {@linkcode gradients}.
 * @module
 */
import { Graph, type Tensor } from "./graph.ts";
import * as op from "./ops.ts";
import { gradients } from "./autodiff.ts";
import { createSession, f64, i64 } from "./session.ts";
import { Rng } from "../util/mod.ts";
import * as ort from "onnxruntime-node";

/** One input of the function under test. */
export interface GradInput {
  /** Static shape. */
  shape: number[];
  /** "float64" (default, differentiated) or "int64"/"bool" (held fixed; give `values`). */
  dtype?: "float64" | "int64" | "bool";
  /** Fixed values (default: random normal; positive when `positive`). */
  values?: number[];
  /** Draw random values in [0.5, 1.5] (for log, sqrt, reciprocal, division). */
  positive?: boolean;
}

/** Options of {@linkcode checkGrads}. */
export interface CheckGradsOptions {
  /** Seed for inputs and output weights (default 0). */
  seed?: number;
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Largest accepted relative error (default 1e-5). */
  tol?: number;
}

/** What {@linkcode checkGrads} found. */
export interface CheckGradsResult {
  ok: boolean;
  /** Worst relative error ‖analytic − numeric‖ / max(‖numeric‖, 1e-8) over inputs. */
  maxRelError: number;
  perInput: { index: number; relError: number }[];
}

/** Compares analytic and numeric gradients of `build(...inputs)`. */
export async function checkGrads(
  build: (...xs: Tensor[]) => Tensor,
  inputs: GradInput[],
  options: CheckGradsOptions = {},
): Promise<CheckGradsResult> {
  const rng = new Rng(options.seed ?? 0);
  const eps = options.eps ?? 1e-6, tol = options.tol ?? 1e-5;
  const g = new Graph("checkgrads");
  const xs = inputs.map((s, i) => g.input(`x${i}`, s.dtype ?? "float64", s.shape));
  const y = build(...xs);
  const weights = Array.from({ length: numel(y.shape as number[]) }, () => rng.normal());
  const loss = op.reduceSum(
    op.mul(y, g.constant("float64", weights, y.shape as number[])),
    y.shape.map((_, i) => i),
  );
  const diffIdx = inputs.map((s, i) => ((s.dtype ?? "float64") === "float64" ? i : -1)).filter((i) => i >= 0);
  const grads = gradients(loss, diffIdx.map((i) => xs[i]));
  g.output(loss, "loss");
  grads.forEach((t, k) => g.output(t, `grad${k}`));
  const session = await createSession(g, { device: "cpu", threads: 1 });
  const values = inputs.map((s) =>
    s.values
      ? Float64Array.from(s.values)
      : Float64Array.from({ length: numel(s.shape) }, () => s.positive ? 0.5 + rng.float() : rng.normal())
  );
  const feeds = () =>
    Object.fromEntries(inputs.map((s, i) => {
      const dt = s.dtype ?? "float64";
      if (dt === "int64") return [`x${i}`, i64(Array.from(values[i]), s.shape)];
      if (dt === "bool") return [`x${i}`, new ort.Tensor("bool", Uint8Array.from(values[i]), s.shape)];
      return [`x${i}`, f64(values[i], s.shape)];
    }));
  const lossAt = async () => (await session.run(feeds(), ["loss"])).loss.data[0] as number;
  const analytic = await session.run(feeds());
  const perInput: { index: number; relError: number }[] = [];
  for (let k = 0; k < diffIdx.length; k++) {
    const i = diffIdx[k];
    const a = analytic[`grad${k}`].data as Float64Array;
    const num = new Float64Array(values[i].length);
    for (let j = 0; j < values[i].length; j++) {
      const v = values[i][j];
      values[i][j] = v + eps;
      const up = await lossAt();
      values[i][j] = v - eps;
      const down = await lossAt();
      values[i][j] = v;
      num[j] = (up - down) / (2 * eps);
    }
    let diff = 0, norm = 0;
    for (let j = 0; j < num.length; j++) {
      diff += (a[j] - num[j]) ** 2;
      norm += num[j] ** 2;
    }
    perInput.push({ index: i, relError: Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-8) });
  }
  await session.release();
  const maxRelError = Math.max(0, ...perInput.map((p) => p.relError));
  return { ok: maxRelError <= tol, maxRelError, perInput };
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
