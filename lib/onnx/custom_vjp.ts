/**
 * Composite ops with their own derivative (JAX `custom_vjp` style). A composite records its forward as ordinary
 * nodes (so it may use fused ONNX Runtime kernels that have no VJP rule) and gives a hand-written backward;
 * {@linkcode gradients} (`autodiff.ts`) calls that backward once for the whole group instead of
 * differentiating the nodes inside it. Named composites live in {@linkcode COMPOSITE_RULES} next to the
 * primitive rules, each with a finite-difference test; {@linkcode customVjp} also takes an ad-hoc backward
 * (used by per-layer checkpointing).
 *
 * Only the composite's outputs may be used outside it: the tensors inside are private to the group.
 * @module
 */
import type { AttrValue } from "./proto.ts";
import type { Node, Tensor } from "./graph.ts";
import * as op from "./ops.ts";

/** What a composite's backward sees. */
export interface CompositeContext {
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: Record<string, AttrValue>;
  /** Per input: whether the caller needs its gradient (it depends on a differentiated tensor). */
  needs: boolean[];
}

/** Gradients of the inputs (null: none) given the gradients of the outputs (null: zero). */
export type CompositeBackward = (ctx: CompositeContext, grads: (Tensor | null)[]) => (Tensor | null)[];

/** A named composite: a forward subgraph plus its VJP. */
export interface CompositeRule {
  forward: (inputs: Tensor[], attrs: Record<string, AttrValue>) => Tensor[];
  backward: CompositeBackward;
}

/** The registered composites, by name (each has a finite-difference test in `fused_test.ts`). */
export const COMPOSITE_RULES: Record<string, CompositeRule> = {};

/** One recorded use of a composite. */
export interface CompositeRecord {
  name: string;
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: Record<string, AttrValue>;
  backward: CompositeBackward;
}

/** The composite each node belongs to (nodes recorded by a composite's forward). */
export const compositeOf: WeakMap<Node, CompositeRecord> = new WeakMap();

/**
 * Records `forward(inputs)` as one differentiable unit whose VJP is `backward`. Returns the outputs.
 */
export function customVjp(
  name: string,
  inputs: Tensor[],
  forward: (inputs: Tensor[]) => Tensor[],
  options: { backward: CompositeBackward; attrs?: Record<string, AttrValue> },
): Tensor[] {
  const g = inputs[0].graph;
  const start = g.nodes.length;
  const outputs = forward(inputs);
  const rec: CompositeRecord = {
    name,
    inputs,
    outputs,
    attrs: options.attrs ?? {},
    backward: options.backward,
  };
  for (let i = start; i < g.nodes.length; i++) compositeOf.set(g.nodes[i], rec);
  for (const o of outputs) {
    if (!o.producer || compositeOf.get(o.producer) !== rec) {
      throw new Error(`composite ${name}: output ${o} is not computed inside it`);
    }
  }
  return outputs;
}

/** Applies the registered composite `name`. */
export function callComposite(
  name: string,
  inputs: Tensor[],
  attrs: Record<string, AttrValue> = {},
): Tensor[] {
  const rule = COMPOSITE_RULES[name];
  if (!rule) throw new Error(`unknown composite ${name}`);
  return customVjp(name, inputs, (xs) => rule.forward(xs, attrs), { backward: rule.backward, attrs });
}

/**
 * `x`, made to depend on `dep` (x + 0·dep[0], the dependency detached). Recomputation inside a backward starts
 * from `after(x, g)`: ONNX Runtime then cannot merge it with the forward's identical nodes (common
 * subexpression elimination) nor schedule it before the backward reaches it, either of which would keep the
 * forward's activations alive again.
 */
export function after(x: Tensor, dep: Tensor): Tensor {
  let d = op.slice(op.reshape(dep, [-1]), [0], [1], [0]); // [1]
  if (d.dtype !== x.dtype) d = op.cast(d, x.dtype);
  return op.add(x, op.stopGradient(op.mul(d, 0)));
}
