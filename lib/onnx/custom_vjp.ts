/**
 * Composite ops with their own derivative (JAX `custom_vjp` style). A composite records its forward as ordinary
 * nodes (so it may use fused ONNX Runtime kernels that have no VJP rule) and gives a hand-written backward;
 * {@linkcode gradients} (`autodiff.ts`) calls that backward once for the whole group instead of
 * differentiating the nodes inside it. Named composites are rules ({@linkcode CompositeRule}) applied with
 * {@linkcode callComposite}; the ones the graphs use are registered, explicitly, in `COMPOSITE_RULES` at the end
 * of `fused.ts`, each with a finite-difference test; {@linkcode customVjp} also takes an ad-hoc backward (used
 * by per-layer recomputation, `recompute.ts`).
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
  /** Its name (the key of its `COMPOSITE_RULES` entry). */
  name: string;
  forward: (inputs: Tensor[], attrs: Record<string, AttrValue>) => Tensor[];
  backward: CompositeBackward;
}

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
 * Records `o.forward(inputs)` as one differentiable unit named `o.name` whose VJP is `o.backward`. Returns the
 * outputs.
 */
export function customVjp(
  inputs: Tensor[],
  o: {
    name: string;
    forward: (inputs: Tensor[]) => Tensor[];
    backward: CompositeBackward;
    attrs?: Record<string, AttrValue>;
  },
): Tensor[] {
  const { name } = o;
  const g = inputs[0].graph;
  const start = g.nodes.length;
  const outputs = o.forward(inputs);
  const rec: CompositeRecord = {
    name,
    inputs,
    outputs,
    attrs: o.attrs ?? {},
    backward: o.backward,
  };
  for (let i = start; i < g.nodes.length; i++) compositeOf.set(g.nodes[i], rec);
  for (const o of outputs) {
    if (!o.producer || compositeOf.get(o.producer) !== rec) {
      throw new Error(`composite ${name}: output ${o} is not computed inside it`);
    }
  }
  return outputs;
}

/** Applies the composite `rule` to `inputs`, with `attrs` (its attributes, seen by forward and backward). */
export function callComposite(
  rule: CompositeRule,
  inputs: Tensor[],
  attrs: Record<string, AttrValue> = {},
): Tensor[] {
  const { name, backward } = rule;
  return customVjp(inputs, { name, forward: (xs) => rule.forward(xs, attrs), backward, attrs });
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
