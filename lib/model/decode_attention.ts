/**
 * Attention for the fast decoding graph with the KV cache as a read-only input (`attention: "cache-input"`).
 *
 * Why: `GroupQueryAttention` updates the cache in place only when its `present` outputs are bound to the
 * cache buffers, and onnxruntime-node copies every fetched output back into a new JS buffer, so each step
 * paid a copy of the whole cache (71 MB a step on the SmolLM2-135M bench shape). Here the graph reads the
 * cache (`past.<i>.key|value` `[B, nkv, M, hd]`, never written), attends over it and over the S new tokens,
 * and returns only the new tokens' rotated keys and values (`kv_new.<i>.key|value` `[B, nkv, S, hd]`), which
 * the host writes into its cache: per step a few KB cross the binding instead of the cache.
 *
 * Positions: row b's new tokens sit at `past_len[b] + t`, with `past_len = max(seqlens_k + 1 − S, 0)` (the
 * GroupQueryAttention feeds: 0 for the right-padded prefill, the cache length for a step). Cache slots at or
 * past `past_len[b]` are masked; the new tokens attend causally to each other (right padding never leaks into
 * a real token). RoPE is the non-interleaved rotate-half on the same cos/sin tables.
 * Standard ONNX ops plus `FusedMatMul` (transposed keys without a copy); numerically a different summation
 * order than GroupQueryAttention, so its tokens match the standard graph's, not bit for bit the GQA graph's.
 * @module
 */
import { type Graph, op, type Tensor } from "../onnx/mod.ts";
import { MASKED } from "./inputs.ts";

const MS = { domain: "com.microsoft" };

/** Per-call tensors every layer shares (positions, masks, the run's [B, S]). */
export interface CacheAttentionShared {
  /** int64 [B, S]: each new token's position. */
  positions: Tensor;
  /** [B, 1, 1, M]: 0 on valid cache slots, −1e9 elsewhere. */
  cacheMask: Tensor;
  /** [grp·S, S]: row (g, t) is 0 where t' ≤ t, −1e9 elsewhere. */
  causal: Tensor;
  /** int64 [2]: the run's B and S. */
  bs: Tensor;
  /** int64 [1]: the cache's M. */
  slots: Tensor;
  /** The RoPE tables [positions, hd/2]. */
  cos: Tensor;
  sin: Tensor;
}

/** The shared inputs of {@linkcode cacheAttention}, from the GroupQueryAttention-style feeds. */
export function cacheAttentionShared(
  g: Graph,
  inputs: { ids: Tensor; seqlens: Tensor; past: Tensor; cos: Tensor; sin: Tensor; group: number },
): CacheAttentionShared {
  const pick = (x: Tensor, at: number) =>
    g.node("Gather", [op.shapeOf(x), g.ints([at])], [{ dtype: "int64", shape: [1] }], { axis: 0 })[0];
  const bs = op.shapeOf(inputs.ids), S = pick(inputs.ids, 1), M = pick(inputs.past, 2);
  const pastLen = op.maximum(op.sub(op.add(op.cast(inputs.seqlens, "int64"), 1), S), 0); // [B]
  const range = (n: Tensor, dim: string) =>
    g.node("Range", [g.scalar("int64", 0), op.squeeze(n, [0]), g.scalar("int64", 1)], [{
      dtype: "int64",
      shape: [dim],
    }])[0];
  const t = range(S, "S"), slots = range(M, "M");
  const zero = g.scalar("float32", 0), masked = g.scalar("float32", MASKED);
  const valid = op.less(slots, op.unsqueeze(pastLen, [1])); // [B, M]
  return {
    positions: op.add(op.unsqueeze(pastLen, [1]), t), // [B, S]
    cacheMask: op.unsqueeze(op.where(valid, zero, masked), [1, 2]),
    // row (g, t) of a KV head's query matrix is query t: the causal mask repeats per query head of the group
    causal: g.node("Tile", [
      op.where(op.greaterOrEqual(op.unsqueeze(t, [1]), op.unsqueeze(t, [0])), zero, masked),
      g.ints([inputs.group, 1]),
    ], [{ dtype: "float32", shape: ["G", "S"] }])[0],
    bs,
    slots: M,
    cos: inputs.cos,
    sin: inputs.sin,
  };
}

/**
 * One layer's attention: `q` [N, nh·hd], `k`/`v` [N, nkv·hd] (N = B·S, before RoPE), the cache `past`
 * [B, nkv, M, hd]. Returns the attention output [N, nh·hd] and the new rotated keys / values [B, nkv, S, hd].
 * Each KV head's group of query heads is one matrix (`[grp·S, hd]`), so a layer is 2·B·nkv small GEMMs
 * against the cache plus 2·B·nkv against the new tokens.
 */
export function cacheAttention(
  x: { q: Tensor; k: Tensor; v: Tensor; past: { k: Tensor; v: Tensor } },
  o: { shared: CacheAttentionShared; numHeads: number; numKvHeads: number; headDim: number },
): { out: Tensor; k: Tensor; v: Tensor } {
  const { numHeads: nh, numKvHeads: nkv, headDim: hd, shared } = o, grp = nh / nkv, g = x.q.graph;
  const bsd = (y: Tensor, heads: number) =>
    // [N, heads·hd] → [B, S, heads·hd]
    g.node("Reshape", [y, op.concat([shared.bs, g.ints([heads * hd])], 0)], [{
      dtype: "float32",
      shape: ["B", "S", heads * hd],
    }])[0];
  const rope = (y: Tensor, heads: number) =>
    // the rotary GroupQueryAttention applies inside
    g.node(
      "RotaryEmbedding",
      [bsd(y, heads), shared.positions, shared.cos, shared.sin],
      [{
        dtype: "float32",
        shape: ["B", "S", heads * hd],
      }],
      { interleaved: 0, num_heads: heads },
      MS,
    )[0];
  // [B, S, nkv, grp, hd] → [B, nkv, grp, S, hd] → [B, nkv, grp·S, hd]
  const q = op.reshape(op.transpose(op.reshape(rope(x.q, nh), [0, 0, nkv, grp, hd]), [0, 2, 3, 1, 4]), [
    0,
    0,
    -1,
    hd,
  ]);
  const heads = (y: Tensor) => op.transpose(op.reshape(y, [0, 0, nkv, hd]), [0, 2, 1, 3]); // [B, nkv, S, hd]
  const k = heads(rope(x.k, nkv)), v = heads(bsd(x.v, nkv));
  const scores = (keys: Tensor, mask: Tensor) =>
    op.add(
      g.node("FusedMatMul", [q, keys], [{ dtype: "float32", shape: ["B", nkv, "G", keys.shape[2]] }], {
        transA: 0,
        transB: 1,
        alpha: { float: 1 / Math.sqrt(hd) },
      }, MS)[0],
      mask,
    );
  const all = op.concat([scores(x.past.k, shared.cacheMask), scores(k, shared.causal)], 3);
  const p = g.node("Softmax", [all], [{ dtype: "float32", shape: [...all.shape] }], { axis: -1 })[0];
  const slice = (from: Tensor, to: Tensor, dim: string) =>
    g.node("Slice", [p, from, to, g.ints([3])], [{ dtype: "float32", shape: ["B", nkv, "G", dim] }])[0];
  const out = op.add(
    op.matmul(slice(g.ints([0]), shared.slots, "M"), x.past.v),
    op.matmul(slice(shared.slots, g.ints([2 ** 62]), "S"), v),
  ); // [B, nkv, grp·S, hd]
  const bnhsd = op.reshape(out, [0, 0, grp, -1, hd]);
  return { out: op.reshape(op.transpose(bnhsd, [0, 3, 1, 2, 4]), [-1, nh * hd]), k, v };
}
