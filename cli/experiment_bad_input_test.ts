/**
 * Bad input end to end (issue 6, item 2): every case runs the real CLI (`deno run -A cli/experiment.ts …`
 * or `cli/run_notebook.ts`) as a subprocess and must end with exit code 2 and exactly one `error: …` line
 * on stderr (its last line, no stack trace) that names the file, field or value at fault.
 *
 * Covered elsewhere, not repeated here: a notebook cell that throws under run-notebook (exit 1, the error
 * shown, the executed notebook still written): cli/run_notebook_test.ts.
 * @module
 */
import { join } from "node:path";
import { writeTinyChatModel } from "../lib/rewards/testing.ts";
import { makeNotebook, writeNotebook } from "../lib/jupyter/mod.ts";
import { assert } from "../lib/util/assert.ts";
import { paramArgs, REPO_ROOT, runCli, TINY_PARAMS } from "./testing.ts";

const TMP = await Deno.makeTempDir({ prefix: "bad-input-test-" });
const TINY = join(REPO_ROOT, "data/tiny");
const p = (...parts: string[]) => join(TMP, ...parts);

/** Writes `text` to `TMP/name`; returns the path. */
async function file(name: string, text: string | Uint8Array): Promise<string> {
  if (typeof text === "string") await Deno.writeTextFile(p(name), text);
  else await Deno.writeFile(p(name), text);
  return p(name);
}

const jsonl = (...rows: unknown[]) =>
  rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n");
const gsm = (i: number) => ({
  question: `Tom has ${i} apples and buys 2 more. How many?`,
  answer: `${i}+2 #### ${i + 2}`,
});

/** A copy of data/tiny without `drop`, with `edit` applied to config.json and `weights` as model.safetensors. */
async function modelVariant(
  name: string,
  o: { drop?: string[]; config?: (c: Record<string, unknown>) => void; weights?: Uint8Array } = {},
): Promise<string> {
  const dir = p(name);
  await Deno.mkdir(dir);
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"]) {
    if (o.drop?.includes(f)) continue;
    let text = await Deno.readTextFile(join(TINY, f));
    if (f === "config.json" && o.config) {
      const c = JSON.parse(text);
      o.config(c);
      text = JSON.stringify(c);
    }
    await Deno.writeTextFile(join(dir, f), text);
  }
  if (o.weights) await Deno.writeFile(join(dir, "model.safetensors"), o.weights);
  else if (!o.drop?.includes("model.safetensors")) {
    await Deno.symlink(join(TINY, "model.safetensors"), join(dir, "model.safetensors"));
  }
  return dir;
}

/** data/tiny's weights with the safetensors header rewritten by `edit` (data section unchanged). */
async function editedWeights(edit: (h: Record<string, { dtype: string; shape: number[] }>) => void) {
  const bytes = await Deno.readFile(join(TINY, "model.safetensors"));
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  edit(header);
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(bytes.subarray(8 + n), 8 + h.length);
  return out;
}

/** data/tiny as two shards whose index lists `model.norm.weight` in a second shard that is not there. */
async function missingShardVariant(name: string): Promise<string> {
  const dir = await modelVariant(name, { drop: ["model.safetensors"] });
  const bytes = await Deno.readFile(join(TINY, "model.safetensors"));
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const names = Object.keys(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))));
  const first = "model-00001-of-00002.safetensors", second = "model-00002-of-00002.safetensors";
  await Deno.symlink(join(TINY, "model.safetensors"), join(dir, first));
  const weightMap = Object.fromEntries(
    names.filter((k) => k !== "__metadata__").map((k) => [k, k === "model.norm.weight" ? second : first]),
  );
  await Deno.writeTextFile(
    join(dir, "model.safetensors.index.json"),
    JSON.stringify({ weight_map: weightMap }),
  );
  return dir;
}

// ---- fixtures -------------------------------------------------------------------------------------
const tinyHead = (await Deno.readFile(join(TINY, "model.safetensors"))).subarray(0, 200);
const data = {
  malformed: await file("malformed.jsonl", '{"question": "2+2?", "answer": "#### 4"'),
  someMalformed: await file("some_malformed.jsonl", jsonl(gsm(1), '{"question": "2+2?", "answer"', gsm(2))),
  noQuestion: await file("no_question.jsonl", jsonl({ answer: "#### 4" })),
  noAnswer: await file("no_answer.jsonl", jsonl({ question: "What is 2+2?" })),
  noHashes: await file("no_hashes.jsonl", jsonl({ question: "What is 2+2?", answer: "It is 4." })),
  nonNumeric: await file("non_numeric.jsonl", jsonl({ question: "What is 2+2?", answer: "#### four" })),
  empty: await file("empty.jsonl", ""),
  tooSmall: await file("too_small.jsonl", jsonl(gsm(1), gsm(2), gsm(3))),
  noInstruction: await file("no_instruction.jsonl", jsonl({ input: "", output: "Hello there." })),
};
const models = {
  noConfig: await modelVariant("m_no_config", { drop: ["config.json"] }),
  noWeights: await modelVariant("m_no_weights", { drop: ["model.safetensors"] }),
  noTokenizer: await modelVariant("m_no_tokenizer", { drop: ["tokenizer.json", "tokenizer_config.json"] }),
  truncated: await modelVariant("m_truncated", { weights: tinyHead }),
  corrupt: await modelVariant("m_corrupt", {
    weights: new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode("{not json at all"), 1, 2]),
  }),
  shape: await modelVariant("m_shape", { config: (c) => (c.intermediate_size = 512) }),
  dtype: await modelVariant("m_dtype", {
    weights: await editedWeights((h) => (h["model.norm.weight"].dtype = "F8_E4M3")),
  }),
  arch: await modelVariant("m_arch", {
    config: (c) => ((c.model_type = "gpt2"), (c.architectures = ["GPT2LMHeadModel"])),
  }),
  missingShard: await missingShardVariant("m_missing_shard"),
  other: p("m_other"),
};
await writeTinyChatModel(models.other, { hidden: 16 });
const notAFolder = await file("a_file", "not a folder");
const notebook = p("params.ipynb");
await writeNotebook(notebook, makeNotebook([{ type: "code", source: "let n = 1;", tags: ["parameters"] }]));

// One real checkpoint of math_hard (1 step, no evaluation) for the adapter / experiment mismatch cases.
const ckptRun = p("ckpt_run");
const made = await runCli("cli/experiment.ts", [
  "math_hard",
  ...paramArgs({ ...TINY_PARAMS, max_steps: 1, eval_size: 0, output_dir: ckptRun }),
]);
const checkpoint = join(ckptRun, "checkpoint-1");

// ---- the table --------------------------------------------------------------------------------------
interface Case {
  /** What is wrong. */
  name: string;
  /** The experiment id (default math_hard), or the run-notebook CLI with these arguments. */
  id?: string;
  /** Options over TINY_PARAMS (output_dir is set per case). */
  params?: Record<string, unknown>;
  /** Raw CLI arguments instead of `id` + params. */
  args?: string[];
  /** Script (default cli/experiment.ts). */
  script?: string;
  /** Substrings the error line must contain (the file, field or value named). */
  expect: string[];
  /** Substrings of a `warning:` line that must come first (rows skipped and counted). */
  warn?: string[];
}

const CASES: Case[] = [
  {
    name: "malformed JSONL line",
    params: { dataset: data.malformed },
    expect: ["malformed.jsonl", "line 1"],
  },
  {
    name: "malformed JSONL line among good rows (skipped, counted, shown)",
    params: { dataset: data.someMalformed },
    warn: ["some_malformed.jsonl", "skipped 1 of 3 rows", "line 2: not valid JSON"],
    expect: ["eval_size", "some_malformed.jsonl"],
  },
  {
    name: "row missing question",
    params: { dataset: data.noQuestion },
    expect: ["no_question.jsonl", '"question"'],
  },
  { name: "row missing answer", params: { dataset: data.noAnswer }, expect: ["no_answer.jsonl", '"answer"'] },
  {
    name: "row missing instruction",
    id: "dialogue_hard",
    params: { dataset: data.noInstruction },
    expect: ["no_instruction.jsonl", '"instruction"'],
  },
  {
    name: "GSM8K answer without ####",
    params: { dataset: data.noHashes },
    expect: ["no_hashes.jsonl", "####"],
  },
  {
    name: "non-numeric gold answer",
    params: { dataset: data.nonNumeric },
    expect: ["non_numeric.jsonl", "four"],
  },
  { name: "empty dataset", params: { dataset: data.empty }, expect: ["empty.jsonl"] },
  {
    name: "dataset too small for eval_size",
    params: { dataset: data.tooSmall },
    expect: ["eval_size", "too_small.jsonl"],
  },
  {
    name: "dataset too small for one batch",
    params: { dataset: data.tooSmall, eval_size: 1, per_device_train_batch_size: 6 },
    expect: ["too_small.jsonl", "per_device_train_batch_size"],
  },
  { name: "unknown experiment id", args: ["math_medium"], expect: ['"math_medium"'] },
  { name: "unknown option", params: { max_stepz: 3 }, expect: ['"max_stepz"'] },
  {
    name: "unknown reward name",
    params: { reward_funcs: ["math_hard", "nope"] },
    expect: ["reward_funcs", "nope"],
  },
  { name: "unknown loss type", params: { loss_type: "ppo" }, expect: ["loss_type", "ppo"] },
  { name: "unknown scheduler", params: { lr_scheduler_type: "step" }, expect: ["lr_scheduler_type", "step"] },
  { name: "unknown device", params: { device: "tpu" }, expect: ["device", "tpu"] },
  { name: "num_generations < 2", params: { num_generations: 1 }, expect: ["num_generations"] },
  {
    name: "batch not divisible by num_generations",
    params: { per_device_train_batch_size: 3 },
    expect: ["per_device_train_batch_size", "num_generations"],
  },
  { name: "negative learning rate", params: { learning_rate: -0.001 }, expect: ["learning_rate", "-0.001"] },
  {
    name: "non-numeric learning rate",
    args: ["math_hard", "--param", "learning_rate=fast"],
    expect: ["learning_rate", "fast"],
  },
  {
    name: "max_completion_length above the model's context",
    params: { max_completion_length: 4096 },
    expect: ["max_completion_length", "4096", "max_position_embeddings"],
  },
  {
    name: "model folder missing config.json",
    params: { model: models.noConfig },
    expect: ["m_no_config", "config.json"],
  },
  {
    name: "model folder missing weights",
    params: { model: models.noWeights },
    expect: ["m_no_weights", "safetensors"],
  },
  {
    name: "model folder missing tokenizer",
    params: { model: models.noTokenizer },
    expect: ["m_no_tokenizer", "tokenizer"],
  },
  {
    name: "truncated safetensors header",
    params: { model: models.truncated },
    expect: ["m_truncated/model.safetensors"],
  },
  {
    name: "corrupt safetensors header",
    params: { model: models.corrupt },
    expect: ["m_corrupt/model.safetensors"],
  },
  {
    name: "tensor shape that does not fit the config",
    params: { model: models.shape },
    expect: ["m_shape", "mlp", "shape"],
  },
  {
    name: "shard listed in model.safetensors.index.json is missing",
    params: { model: models.missingShard },
    expect: ["m_missing_shard/model.safetensors.index.json", "model-00002-of-00002.safetensors", "missing"],
  },
  {
    name: "unsupported dtype",
    params: { model: models.dtype },
    expect: ["m_dtype/model.safetensors", "F8_E4M3"],
  },
  {
    name: "unsupported architecture",
    params: { model: models.arch },
    expect: ["m_arch/config.json", "GPT2LMHeadModel"],
  },
  {
    name: "adapter trained for another model",
    params: { model: models.other, resume_from_checkpoint: checkpoint, max_prompt_length: 64 },
    expect: ["checkpoint-1", "adapter"],
  },
  {
    name: "checkpoint from another experiment",
    id: "math_soft",
    params: { resume_from_checkpoint: checkpoint },
    expect: ["checkpoint-1", '"math_hard"', '"math_soft"'],
  },
  {
    name: "resume with no checkpoint in output_dir",
    params: { resume_from_checkpoint: "latest" },
    expect: ["resume_from_checkpoint", "latest"],
  },
  {
    name: "unwritable output_dir",
    params: { output_dir: join(notAFolder, "out") },
    expect: ["output_dir", "a_file"],
  },
  {
    name: "unknown notebook parameter",
    script: "cli/run_notebook.ts",
    args: [notebook, "--param", "m=1", "--out", p("nb_out")],
    expect: ["params.ipynb", '"m"'],
  },
];

function argsOf(c: Case, i: number): string[] {
  if (c.args) return c.args;
  return [c.id ?? "math_hard", ...paramArgs({ ...TINY_PARAMS, output_dir: p(`out_${i}`), ...c.params })];
}

/** The problems with one case's output, or [] when it is right. */
function problems(c: Case, code: number, stderr: string): string[] {
  const lines = stderr.trim().split("\n");
  const errs = lines.filter((l) => l.startsWith("error:"));
  const out: string[] = [];
  if (code !== 2) out.push(`exit code ${code}, expected 2`);
  if (errs.length !== 1) out.push(`${errs.length} "error:" lines, expected 1`);
  else if (lines.at(-1) !== errs[0]) out.push("the error is not the last stderr line");
  if (lines.some((l) => /^\s+at /.test(l))) out.push("a stack trace was printed");
  for (const s of c.expect) if (!errs[0]?.includes(s)) out.push(`error line does not name ${s}`);
  if (c.warn) {
    const warning = lines.find((l) => l.startsWith("warning:")) ?? "";
    for (const s of c.warn) if (!warning.includes(s)) out.push(`no warning line naming ${s}`);
  }
  return out;
}

Deno.test({
  name: "bad input: every case exits 2 with one `error:` line naming the file, field or value",
  sanitizeResources: false,
  fn: async () => {
    assert(made.code === 0, `setup run failed:\n${made.stderr}`);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < CASES.length) {
        const i = next++, c = CASES[i];
        const r = await runCli(c.script ?? "cli/experiment.ts", argsOf(c, i));
        const bad = problems(c, r.code, r.stderr);
        if (bad.length) {
          failures.push(
            `${c.name}: ${bad.join("; ")}\n    stderr: ${r.stderr.trim().split("\n").join("\n            ")}`,
          );
        }
      }
    };
    await Promise.all([worker(), worker()]);
    await Deno.remove(TMP, { recursive: true });
    assert(
      failures.length === 0,
      `${failures.length} of ${CASES.length} cases failed:\n${failures.join("\n")}`,
    );
  },
});
