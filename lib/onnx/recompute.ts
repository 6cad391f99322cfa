/**
 * Activation recomputation (TRL's `gradient_checkpointing`): a function whose forward is recomputed inside the
 * backward, so only its inputs are kept between the two passes. (Saved training state is `grpo/checkpoint.ts`.)
 * @module
 */
import type { Tensor } from "./graph.ts";
import { after, customVjp } from "./custom_vjp.ts";
import { gradients } from "./autodiff.ts";

/**
 * `fn(inputs)` as one unit that keeps only `inputs` for the backward: there, `fn` is recorded again (on
 * `inputs[0]` made to depend on the incoming gradient, see `after`) and differentiated. Tensors `fn` reads
 * from its closure are treated as constants unless they are also listed in `inputs`.
 */
export function checkpoint(fn: (inputs: Tensor[]) => Tensor, inputs: Tensor[]): Tensor {
  return customVjp(inputs, {
    name: "Checkpoint",
    forward: (xs) => [fn(xs)],
    backward: ({ inputs: xs, needs }, [g]) => {
      const again = xs.map((x, i) => (i === 0 ? after(x, g!) : x));
      const y = fn(again);
      const wrt = again.filter((_, i) => needs[i]);
      const grads = gradients(y, wrt, { seed: g! });
      let k = 0;
      return needs.map((n) => (n ? grads[k++] : null));
    },
  })[0];
}
