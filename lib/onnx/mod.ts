/**
 * ONNX graphs with reverse-mode autodiff, run on onnxruntime-node.
 *
 * ```ts
 * const g = new Graph("square");
 * const x = g.input("x", "float32", [3]);
 * const y = op.reduceSum(op.mul(x, x), [0]);
 * const [dx] = gradients(y, [x]);
 * g.output(y, "y"); g.output(dx, "dx");
 * const s = await createSession(g, { device: "cpu" });
 * ```
 * @module
 */
export { Graph, Tensor } from "./graph.ts";
export type { ArrayData, Dim, DType, Node } from "./graph.ts";
export * as op from "./ops.ts";
export * from "./composites.ts";
export { gradients, unbroadcast, VJP_RULES } from "./autodiff.ts";
export type { VjpRule } from "./autodiff.ts";
export { createSession, DEVICES, f32, f64, i64, Session } from "./session.ts";
export type { Device, HostTensor, SessionOptions } from "./session.ts";
export { checkGrads } from "./check_grads.ts";
export type { CheckGradsOptions, CheckGradsResult } from "./check_grads.ts";
export { attention, chunkedTokenLogprobs, COMPOSITE_RULES, rmsNormFused, swiGlu } from "./fused.ts";
export type { ChunkedLogprobs } from "./fused.ts";
export { after, callComposite, customVjp } from "./custom_vjp.ts";
export type { CompositeBackward, CompositeContext, CompositeRule } from "./custom_vjp.ts";
export { checkpoint } from "./recompute.ts";
