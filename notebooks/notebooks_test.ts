/**
 * The committed notebooks are the source (edited in Jupyter or VS Code): each is committed without
 * outputs (`deno task nb-clean`), has one parameters cell that parses, and its code cells type-check
 * with `deno check`; and every notebook is executed headless in a real Deno kernel with small
 * parameters, in order (the training notebooks first, then Testing and Comparison read their runs).
 * The runs need the embedded model (`data/tiny/config.json`, or a model folder in NOTEBOOK_TEST_MODEL);
 * without it they are skipped with a warning.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  cellTags,
  checkNotebookTypes,
  cleanNotebookText,
  declaredParameters,
  findParametersCell,
  formatFailure,
  joinSource,
  type Notebook,
  readNotebook,
  runNotebook,
  type RunNotebookResult,
} from "../lib/jupyter/mod.ts";
import { readJsonLines } from "../lib/util/mod.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";

/** This folder. */
const NOTEBOOK_DIR = fileURLToPath(new URL(".", import.meta.url)).replace(/\/$/, "");

const REPO = fileURLToPath(new URL("..", import.meta.url));
const MODEL = Deno.env.get("NOTEBOOK_TEST_MODEL") || join(REPO, "data", "tiny");
const HAVE_MODEL = existsSync(join(MODEL, "config.json"));
if (!HAVE_MODEL) {
  console.warn(
    `notebooks_test: ${join(MODEL, "config.json")} does not exist (build it with \`deno task pretrain\`); ` +
      "skipping the notebook runs",
  );
}
const NAMES = [...Deno.readDirSync(NOTEBOOK_DIR)].filter((e) => e.name.endsWith(".ipynb")).map((e) => e.name)
  .sort();
const TRAINING = [
  "MathHard",
  "MathPerplexity",
  "DialogueHard",
  "DialoguePerplexity",
  "Soft",
  "ReferenceLikelihood",
];

Deno.test("committed notebooks: no outputs, exactly one parameters cell that parses", async () => {
  assertEquals(NAMES.length, 8);
  for (const name of NAMES) {
    const path = join(NOTEBOOK_DIR, name);
    assertEquals(cleanNotebookText(await Deno.readTextFile(path)).dirtyCells, 0, {
      msg: `${name}: run \`deno task nb-clean\``,
    });
    const nb = await readNotebook(path);
    for (const c of nb.cells.filter((c) => c.cell_type === "code")) {
      assertEquals([c.outputs, c.execution_count], [[], null], { msg: `${name}: a code cell has outputs` });
    }
    assertEquals(nb.cells.filter((c) => cellTags(c).includes("parameters")).length, 1, { msg: name });
    const declared = declaredParameters(joinSource(nb.cells[findParametersCell(nb)].source));
    assert([...declared.values()].every((k) => k === "let"), `${name}: parameters are declared with let`);
    const want = TRAINING.includes(name.replace(".ipynb", ""))
      ? [
        "max_steps",
        "seed",
        "model",
        "output_dir",
        "device",
        "num_generations",
        "learning_rate",
        "eval_steps",
      ]
      : name === "Testing.ipynb"
      ? ["model", "outputs_dir", "device"]
      : ["run_all", "seeds", "trl_logs", "outputs_dir", "backend"];
    for (const p of want) assert(declared.has(p), `${name}: parameter ${p} missing`);
  }
});

Deno.test("committed notebooks: every notebook's code cells type-check together with deno check", async () => {
  for (const name of NAMES) {
    const r = await checkNotebookTypes(join(NOTEBOOK_DIR, name));
    assert(r.ok, `${name}:\n${r.output}`);
  }
});

// One output folder shared by every run below (the training notebooks write it, Testing and Comparison read it).
const OUT = Deno.makeTempDirSync({ prefix: "notebooks-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(OUT, { recursive: true }));
const COMMON = { model: MODEL, device: "cpu", threads: 2 };
const SMALL = {
  ...COMMON,
  max_steps: 2,
  num_generations: 2,
  per_device_train_batch_size: 4,
  max_completion_length: 24,
  eval_size: 3,
  eval_steps: 2,
};

/** Runs notebooks/<name>.ipynb with `params`; fails with the cell error and the log tail when it does not complete. */
async function run(
  name: string,
  params: Record<string, unknown>,
): Promise<RunNotebookResult & { text: string }> {
  const lines: string[] = [];
  const res = await runNotebook(join(NOTEBOOK_DIR, `${name}.ipynb`), {
    params,
    outDir: join(OUT, "executed"),
    timeoutMs: 240_000,
    log: (l) => lines.push(l),
    onStream: (_, t) => lines.push(t),
  });
  assert(
    res.ok,
    `${name}: ${res.error ? formatFailure(res.error) : "failed"}\n${lines.slice(-40).join("\n")}`,
  );
  return { ...res, text: outputText(res.notebook) };
}

/** Every stream text and text/plain output of a notebook, joined. */
function outputText(nb: Notebook): string {
  return nb.cells.flatMap((c) => c.outputs ?? []).map((o) =>
    o.output_type === "stream"
      ? joinSource(o.text)
      : o.output_type === "display_data" || o.output_type === "execute_result"
      ? joinSource(o.data["text/plain"] as string[] | undefined)
      : ""
  ).join("\n");
}

async function lastRow(dir: string): Promise<Record<string, number>> {
  const { rows } = await readJsonLines<Record<string, number>>(join(dir, "metrics.jsonl"));
  assert(rows.length >= 2, `${dir}/metrics.jsonl: ${rows.length} rows`);
  return rows[rows.length - 1];
}

function assertRewards(row: Record<string, number>, names: string[], where: string): void {
  const logged = Object.keys(row).filter((k) => /^rewards\/.+\/mean$/.test(k)).sort();
  assertEquals(logged, names.map((n) => `rewards/${n}/mean`).sort(), { msg: where });
}

const training = (name: string, id: string, rewards: string[], extra: Record<string, unknown> = {}) =>
  Deno.test({
    name: `${name}.ipynb runs ${id} with a live plot and logs ${rewards.join(" + ")}`,
    ignore: !HAVE_MODEL,
    fn: async () => {
      const res = await run(name, { ...SMALL, output_dir: join(OUT, id), ...extra });
      assertRewards(await lastRow(join(OUT, id)), rewards, `${id} metrics.jsonl`);
      assert(res.cells.some((c) => (c.messages.update_display_data ?? 0) > 0), "the live plot was updated");
      assert(res.text.includes(`run folder: ${join(OUT, id)}`), "the run cell names the run folder");
      assert(/^step \d+ · reward .* · advantage /m.test(res.text), "sample completions are shown");
      assert(/^\d+ completions \(\d+ held-out, /m.test(res.text), "the completions viewer is shown");
    },
  });

training("MathHard", "math_hard", ["math_hard", "format"]);
training("MathPerplexity", "math_perplexity", ["perplexity", "format"]);
training("DialogueHard", "dialogue_hard", ["gemini_hard"], { use_gemini: false });
training("DialoguePerplexity", "dialogue_perplexity", ["perplexity"], { use_gemini: false });

Deno.test({
  name: "Soft.ipynb runs math_soft then dialogue_soft and compares them",
  ignore: !HAVE_MODEL,
  fn: async () => {
    const res = await run("Soft", { ...SMALL, output_dir: OUT, use_gemini: false });
    assertRewards(await lastRow(join(OUT, "math_soft_seed42")), ["math_soft", "format"], "math_soft");
    const dialogue = await lastRow(join(OUT, "dialogue_soft_seed42"));
    assertRewards(dialogue, ["gemini_soft"], "dialogue_soft");
    assertEquals(dialogue["judge/fallback_frac"], 1, {
      msg: "use_gemini = false: every judge score is a counted fallback",
    });
    assert(res.text.includes("Findings:\n- "), res.text.slice(-2000));
    assert(res.text.includes("math_soft: mean training reward went from"), "a finding per experiment");
    assert(res.text.includes("dialogue_soft: mean training reward went from"), "a finding per experiment");
  },
});

Deno.test({
  name: "ReferenceLikelihood.ipynb runs math_refprob then dialogue_refprob and compares them",
  ignore: !HAVE_MODEL,
  fn: async () => {
    const res = await run("ReferenceLikelihood", { ...SMALL, output_dir: OUT, use_gemini: false });
    const math = await lastRow(join(OUT, "math_refprob_seed42"));
    assertRewards(math, ["reference_likelihood_debiased", "format"], "math_refprob");
    assertRewards(
      await lastRow(join(OUT, "dialogue_refprob_seed42")),
      ["reference_likelihood"],
      "dialogue_refprob",
    );
    assert(res.text.includes("math_refprob vs its base model"), res.text.slice(-3000));
  },
});

Deno.test({
  name: "Testing.ipynb finds the eight adapters and compares them with the base model",
  ignore: !HAVE_MODEL,
  fn: async () => {
    const res = await run("Testing", {
      ...COMMON,
      outputs_dir: OUT,
      n_math: 3,
      n_dialogue: 2,
      max_new_tokens: 16,
      use_gemini: false,
      examples: 2,
    });
    assert(res.text.includes(`found 8 adapter(s) in ${OUT}`), res.text.slice(0, 2000));
    for (const id of ["base model", "math_hard", "math_perplexity", "dialogue_hard", "dialogue_perplexity"]) {
      assert(new RegExp(`^${id}: math \\d+/3 `, "m").test(res.text), `no comparison line for ${id}`);
    }
    assert(res.text.includes("math_soft_seed42: math"), "math_soft compared (its default folder names it)");
  },
});

Deno.test({
  name: "Comparison.ipynb finds every experiment, checks integrity, writes the report and ends with findings",
  ignore: !HAVE_MODEL,
  fn: async () => {
    const report = join(OUT, "report.html");
    const res = await run("Comparison", {
      seeds: [42],
      outputs_dir: OUT,
      trl_logs: "auto",
      report_path: report,
      window: 1,
      use_gemini: false,
    });
    // The notebooks above trained every experiment but the two controls: those are listed with their command.
    assert(
      res.text.includes("missing math_format_only seed 42: deno task experiment math_format_only"),
      res.text.slice(0, 3000),
    );
    assert(res.text.includes("found math_refprob seed 42"), "status lines name the runs");
    assert(res.text.includes("found dialogue_soft seed 42: 2/2 steps"), "status lines name the runs");
    assert(
      /\[(all_zero_reward|high_zero_std_fraction|judge_fallback|missing_eval|constant_reward)\]/.test(
        res.text,
      ),
    );
    assert(res.text.includes("Findings:\n- "), "findings are shown");
    assert(res.text.includes("math_hard: mean training reward went from"), "a finding from the data");
    assert(res.text.includes("Verdicts:\n"), "the verdicts are shown");
    assert(
      /^math_hard \(1 seed\): reward .*, stability /m.test(res.text),
      "the statistics, stability included",
    );
    assert(existsSync(report) && Deno.statSync(report).size > 100_000, "report written with plotly inlined");
  },
});
