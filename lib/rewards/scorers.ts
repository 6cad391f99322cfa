/**
 * Perplexity scorers for {@linkcode perplexityReward}: PPL of each completion given its prompt,
 * `exp(−mean log p(completion token | prompt, earlier completion tokens))`.
 *
 * - {@linkcode policyPerplexityScorer}: the policy itself (with the trainer's current LoRA adapter).
 * - {@linkcode lmPerplexityScorer}: a separate frozen LM, either one our engine loads (Llama/Qwen2
 *   folders or hub ids) or a `@huggingface/transformers` ONNX causal LM such as `Xenova/DialoGPT-small`.
 *
 * Prompt and completion are encoded separately and their ids concatenated, so the boundary is exact;
 * with no prompt tokens the row starts with the tokenizer's BOS (else its EOS) so the first completion
 * token has a context. Rows longer than `maxLength` lose context tokens from the left (then completion
 * tokens from the right), counted in `truncated`. A row with no completion tokens or a non-finite
 * mean is scored `Infinity` and counted in `nonFinite`; the reward scores those 0.
 *
 * DialoGPT (transformers.js models of type `gpt2`) separates turns with its EOS token, so there the
 * scored text is `prompt <eos> completion <eos>` and the closing EOS is one of the scored tokens
 * (the likelihood that the completion is a whole turn). Other models score `prompt completion`.
 *
 * Engine scorers carry their model's chat `layout` ({@linkcode userTurnLayout}): rewards whose prompts are a
 * plain user turn (dialogue) render it with the layout, so the scored text is laid out as the model was
 * trained on. transformers.js scorers carry none (DialoGPT's EOS-separated turns are its layout).
 * @module
 */
import {
  CausalLM,
  logSoftmaxAt,
  type LoraAdapter,
  openTransformersJs,
  type TfjsCausalLM,
  tfjsInt64,
  type TfjsTokenizer,
  type Tokenizer,
} from "../model/mod.ts";
import type { Device } from "../onnx/mod.ts";
import { UserError } from "../util/mod.ts";
import type { PerplexityScorer } from "./perplexity.ts";
import type { TargetScorer } from "./reference_likelihood.ts";

/** A perplexity scorer with counters. */
export interface CountingPerplexityScorer extends PerplexityScorer {
  /** Completions scored so far. */
  scored: number;
  /** Rows cut to fit `maxLength`. */
  truncated: number;
  /** Completions scored `Infinity` (no completion tokens, or a non-finite log-prob). */
  nonFinite: number;
}

/** One row to score: context ids, then the ids whose log-probs count. */
interface Row {
  context: number[];
  target: number[];
}

/** Log-probs of each row's target ids given its context (one array per row, same lengths). */
type BatchScorer = (rows: Row[]) => Promise<number[][]>;

/** Fits a row into `maxLength` tokens (context from the left first); returns whether it was cut. */
function fitRow(row: Row, maxLength: number): boolean {
  const over = row.context.length + row.target.length - maxLength;
  if (over <= 0) return false;
  const fromContext = Math.min(over, row.context.length - 1);
  row.context = row.context.slice(fromContext);
  if (over > fromContext) row.target = row.target.slice(0, row.target.length - (over - fromContext));
  return true;
}

/** exp(−mean); Infinity for an empty list or a non-finite result. */
export function perplexityOf(logprobs: ArrayLike<number>): number {
  if (logprobs.length === 0) return Infinity;
  let s = 0;
  for (let i = 0; i < logprobs.length; i++) s += logprobs[i];
  const ppl = Math.exp(-s / logprobs.length);
  return Number.isFinite(ppl) ? ppl : Infinity;
}

/** Log-probs of every row's target, batched by similar length; rows with no target get `[]`. */
async function scoreRows(rows: Row[], batchSize: number, run: BatchScorer): Promise<number[][]> {
  const order = rows.map((_, i) => i).sort((a, b) =>
    rows[a].context.length + rows[a].target.length - rows[b].context.length - rows[b].target.length
  );
  const out: number[][] = rows.map(() => []);
  for (let s = 0; s < order.length; s += batchSize) {
    const idx = order.slice(s, s + batchSize).filter((i) => rows[i].target.length > 0);
    if (!idx.length) continue;
    const lps = await run(idx.map((i) => rows[i]));
    idx.forEach((i, k) => (out[i] = lps[k]));
  }
  return out;
}

function checkBatchSize(label: string, batchSize: number): void {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new UserError(`${label}: batchSize must be a positive integer, got ${batchSize}`);
  }
}

function makeScorer(
  name: string,
  o: { batchSize: number; maxLength: number },
  encode: (prompt: string, completion: string) => Row,
  run: BatchScorer,
): CountingPerplexityScorer {
  checkBatchSize(`perplexity scorer ${name}`, o.batchSize);
  const scorer: CountingPerplexityScorer = {
    name,
    scored: 0,
    truncated: 0,
    nonFinite: 0,
    async perplexities(prompts, completions) {
      if (prompts.length !== completions.length) {
        throw new UserError(
          `perplexity scorer ${name}: ${prompts.length} prompts for ${completions.length} completions`,
        );
      }
      const rows = prompts.map((p, i) => encode(p, completions[i]));
      for (const r of rows) if (fitRow(r, o.maxLength)) scorer.truncated++;
      const out = (await scoreRows(rows, o.batchSize, run)).map((lp) => perplexityOf(lp));
      scorer.scored += out.length;
      scorer.nonFinite += out.filter((p) => p === Infinity).length;
      return out;
    },
  };
  return scorer;
}

/** Right-pads rows into one flat batch. */
function padBatch(rows: Row[], pad: number): { ids: number[]; mask: number[]; T: number } {
  const seqs = rows.map((r) => [...r.context, ...r.target]);
  const T = Math.max(...seqs.map((s) => s.length));
  const ids: number[] = [], mask: number[] = [];
  for (const s of seqs) {
    for (let t = 0; t < T; t++) {
      ids.push(t < s.length ? s[t] : pad);
      mask.push(t < s.length ? 1 : 0);
    }
  }
  return { ids, mask, T };
}

/** Options of {@linkcode policyPerplexityScorer}. */
export interface PolicyPerplexityScorerOptions {
  /** The adapter to score with, read at every call (the trainer's current one); absent: the base model. */
  lora?: () => LoraAdapter | null;
  /** Rows per forward pass (default 8). */
  batchSize?: number;
  /** Longest row in tokens (default the model's `max_position_embeddings`). */
  maxLength?: number;
  /** Scorer name in logs (default "policy"). */
  name?: string;
}

function engineRows(model: CausalLM): (prompt: string, completion: string) => Row {
  const tok = model.tok;
  const start = tok.bosTokenId ?? tok.eosTokenIds[0] ?? tok.padTokenId;
  return (prompt, completion) => {
    const context = tok.encode(prompt);
    return { context: context.length ? context : [start], target: tok.encode(completion) };
  };
}

function engineRun(model: CausalLM, lora: () => LoraAdapter | null): BatchScorer {
  const pad = model.tok.padTokenId;
  return async (rows) => {
    const { ids, mask, T } = padBatch(rows, pad);
    const { logprobs } = await model.logprobs({ ids, mask, batch: rows.length, length: T }, lora());
    // position t holds log p(token t+1 | ≤ t)
    return rows.map((r, b) => {
      const c = r.context.length;
      return r.target.map((_, k) => logprobs[b * T + c + k - 1]);
    });
  };
}

/**
 * The chat layout of a plain user turn under `tok`'s chat template: the rendered prompt up to the opening
 * of the assistant's answer. Undefined when the tokenizer has no chat template.
 */
export function userTurnLayout(tok: Tokenizer): ((userTurn: string) => string) | undefined {
  const render = (userTurn: string) => tok.applyChatTemplate([{ role: "user", content: userTurn }]);
  try {
    render("");
  } catch (e) {
    if (e instanceof UserError) return undefined;
    throw e;
  }
  return render;
}

/** A scorer backed by the policy `model` itself (with `options.lora()`'s adapter when given). */
export function policyPerplexityScorer(
  model: CausalLM,
  options: PolicyPerplexityScorerOptions = {},
): CountingPerplexityScorer {
  const lora = options.lora ?? (() => null);
  const scorer = makeScorer(
    options.name ?? "policy",
    { batchSize: options.batchSize ?? 8, maxLength: options.maxLength ?? model.config.maxPositions },
    engineRows(model),
    engineRun(model, lora),
  );
  const layout = userTurnLayout(model.tok);
  return layout ? Object.assign(scorer, { layout }) : scorer;
}

/** A target scorer with counters. */
export interface CountingTargetScorer extends TargetScorer {
  /** Rows scored so far. */
  scored: number;
  /** Rows cut to fit `maxLength` (context from the left first). */
  truncated: number;
}

/**
 * A {@linkcode TargetScorer} backed by the policy `model` (with `options.lora()`'s adapter when
 * given): the reference-likelihood reward's scorer. Context and target are encoded separately, so
 * the boundary is exact, as in {@linkcode policyPerplexityScorer}.
 */
export function policyTargetScorer(
  model: CausalLM,
  options: PolicyPerplexityScorerOptions = {},
): CountingTargetScorer {
  const name = options.name ?? "policy";
  const batchSize = options.batchSize ?? 8;
  const maxLength = options.maxLength ?? model.config.maxPositions;
  checkBatchSize(`target scorer ${name}`, batchSize);
  const encode = engineRows(model), run = engineRun(model, options.lora ?? (() => null));
  const layout = userTurnLayout(model.tok);
  const scorer: CountingTargetScorer = {
    name,
    scored: 0,
    truncated: 0,
    ...(layout ? { layout } : {}),
    async targetLogprobs(contexts, targets, o = {}) {
      if (contexts.length !== targets.length) {
        throw new UserError(
          `target scorer ${name}: ${contexts.length} contexts for ${targets.length} targets`,
        );
      }
      const rows = contexts.map((c, i) => {
        const r = encode(c, targets[i]);
        if (o.maxTargetTokens !== undefined) r.target = r.target.slice(0, o.maxTargetTokens);
        return r;
      });
      for (const r of rows) if (fitRow(r, maxLength)) scorer.truncated++;
      scorer.scored += rows.length;
      return await scoreRows(rows, batchSize, run);
    },
  };
  return scorer;
}

/** Options of {@linkcode lmPerplexityScorer}. */
export interface LmPerplexityScorerOptions {
  /** "auto" (default), "cuda" or "cpu". */
  device?: Device;
  /** ORT intra-op threads. */
  threads?: number;
  /** Rows per forward pass (default 8 for the engine, 4 for transformers.js: its logits are [B, T, V]). */
  batchSize?: number;
  /** Longest row in tokens (default the model's maximum positions). */
  maxLength?: number;
  /** Which runtime (default: transformers.js for a folder with `onnx/model.onnx` or an id starting with "Xenova/" or "onnx-community/", else the engine). */
  kind?: "engine" | "transformers.js";
  /** DialoGPT-style `prompt <eos> completion <eos>` (default: on for transformers.js models of type gpt2). */
  eosSeparated?: boolean;
}

/** A frozen-LM scorer: counters, the runtime used, and `release()` to free its sessions. */
export interface LmPerplexityScorer extends CountingPerplexityScorer {
  /** The runtime that scores. */
  kind: "engine" | "transformers.js";
  /** Frees the model. */
  release(): Promise<void>;
}

async function hasOnnx(dir: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${dir}/onnx/model.onnx`)).isFile;
  } catch {
    return false;
  }
}

/** Which runtime {@linkcode lmPerplexityScorer} uses for `idOrDir` when no `kind` is given. */
export async function detectScorerKind(idOrDir: string): Promise<"engine" | "transformers.js"> {
  if (await hasOnnx(idOrDir)) return "transformers.js";
  return /^(Xenova|onnx-community)\//.test(idOrDir) ? "transformers.js" : "engine";
}

/** A scorer backed by a separate frozen causal LM (see the module documentation). */
export async function lmPerplexityScorer(
  idOrDir: string,
  options: LmPerplexityScorerOptions = {},
): Promise<LmPerplexityScorer> {
  const kind = options.kind ?? (await detectScorerKind(idOrDir));
  if (kind !== "engine" && kind !== "transformers.js") {
    throw new UserError(`perplexity scorer kind "${kind}" (expected "engine" or "transformers.js")`);
  }
  if (kind === "engine") {
    if (options.eosSeparated) {
      throw new UserError(`perplexity scorer ${idOrDir}: eosSeparated needs transformers.js`);
    }
    let model: CausalLM;
    try {
      model = await CausalLM.load(idOrDir, { device: options.device, threads: options.threads });
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`perplexity scorer model "${idOrDir}": ${e.message}`);
      throw e;
    }
    const base = policyPerplexityScorer(model, {
      batchSize: options.batchSize,
      maxLength: options.maxLength,
      name: idOrDir,
    });
    return Object.assign(base, { kind, release: () => model.release() });
  }
  const { model, tokenizer } = await openTransformersJs(idOrDir, {
    device: options.device,
    threads: options.threads,
  });
  const cfg = model.config;
  const eosSep = options.eosSeparated ?? cfg.model_type === "gpt2";
  const maxPos = Number(cfg.n_positions ?? cfg.max_position_embeddings);
  const base = makeScorer(
    idOrDir,
    {
      batchSize: options.batchSize ?? 4,
      maxLength: options.maxLength ?? (Number.isFinite(maxPos) && maxPos > 1 ? maxPos : Infinity),
    },
    tfjsRows(tokenizer, eosSep, idOrDir),
    tfjsRun(model, tokenizer),
  );
  return Object.assign(base, { kind, release: async () => void (await model.dispose()) });
}

function idOf(v: unknown): number | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return Number.isInteger(x) && x >= 0 ? x : undefined;
}

function tfjsRows(tok: TfjsTokenizer, eosSep: boolean, name: string): (p: string, c: string) => Row {
  const eos = idOf(tok.eos_token_id), bos = idOf(tok.bos_token_id);
  if (eosSep && eos === undefined) {
    throw new UserError(`perplexity scorer ${name}: tokenizer has no eos token`);
  }
  const start = bos ?? eos ?? idOf(tok.pad_token_id) ?? 0;
  return (prompt, completion) => {
    const enc = (s: string) => tok.encode(s, { add_special_tokens: false });
    if (eosSep) return { context: [...enc(prompt), eos!], target: [...enc(completion), eos!] };
    const context = enc(prompt);
    return { context: context.length ? context : [start], target: enc(completion) };
  };
}

function tfjsRun(model: TfjsCausalLM, tok: TfjsTokenizer): BatchScorer {
  const pad = idOf(tok.pad_token_id) ?? idOf(tok.eos_token_id) ?? 0;
  return async (rows) => {
    const { ids, mask, T } = padBatch(rows, pad);
    const B = rows.length;
    const { logits } = await model({
      input_ids: tfjsInt64(ids, [B, T]),
      attention_mask: tfjsInt64(mask, [B, T]),
    });
    const V = logits.dims[2], x = logits.data as Float32Array;
    return rows.map((r, b) => {
      const c = r.context.length;
      return r.target.map((t, k) => logSoftmaxAt(x, { off: (b * T + c + k - 1) * V, n: V, t: t }));
    });
  };
}
