/**
 * The prose of the seven notebooks (markdown), kept apart from their structure in `make_notebooks.ts`.
 * Statements about the original study come from its TRL logs (`shared/data/trl-logs`), which the
 * Comparison notebook loads and checks.
 * @module
 */

/** What every training notebook says about how it runs. */
export const RUNNING = `## How this notebook runs

The parameters cell below holds small defaults that finish in a few minutes on a CPU with the embedded tiny
model (\`../data/tiny\`, built by \`deno task pretrain\`). The kernel's working folder is \`notebooks/\`, so
relative paths start there. The same run from a terminal: \`deno task experiment <id> --param max_steps=30 …\`;
headless with other parameters: \`deno task run-notebook notebooks/<Name>.ipynb --param max_steps=5\`.

While it trains, the plot below the run cell redraws at every logged step (total reward, each reward function,
and the held-out metric on the right axis). Everything the run logs lands in \`output_dir\` (by default
\`../outputs/<id>_seed<seed>\`): \`metrics.jsonl\` (TRL's metric names), \`trainer_state.json\`,
\`completions.jsonl\` and \`checkpoint-<step>/\` (the LoRA adapter in PEFT format, optimizer state; resume with
\`resume_from_checkpoint = "latest"\`). A folder that already holds a run stops a fresh one with an error naming
that run: resume it, set \`overwrite_output_dir = true\` to replace it, or choose another folder.`;

/** Per-experiment markdown: the reward in words, what the original study expected and logged, what to look at. */
export const EXPERIMENT_TEXT: Record<string, { title: string; reward: string; study: string; look: string }> =
  {
    math_hard: {
      title: "math_hard: all-or-nothing correctness",
      reward: `Each completion to a GSM8K-style word problem gets two rewards, summed:

- **math_hard** = 2 when the answer read from the \`<answer>…</answer>\` slot (the text in the last closed
  pair) equals the gold answer (as a normalized string or within 0.01), else 0. This is the original study's
  strict rule: an answer written any other way ("The answer is 8.", \`#### 8\`, a bare number) scores 0. The
  lenient reading (the last \`<answer>\`, else \`#### N\`, else the last number) is the separate reward
  **math_hard_lenient**;
- **format** = 0.25 for a closed \`<reasoning>…</reasoning>\` pair + 0.25 for a closed \`<answer>…</answer>\` pair.

r = 2·[answer = gold] + 0.25·[reasoning tags] + 0.25·[answer tags], between 0 and 2.5. GRPO samples
\`num_generations\` completions per prompt and uses each one's advantage (r − group mean) / group std.
A group whose completions all score the same gives no gradient (logged as \`frac_reward_zero_std\`).`,
      study:
        `The original Python study trained Qwen2.5-3B with LoRA (Unsloth + TRL's GRPOTrainer) for 100 steps on GSM8K.
The hard reward is the baseline: sparse but unambiguous. In its TRL log the training reward does not trend up
over the 100 steps (the first and last ten steps average about 1.24 and 1.04). Its math_hard column averages
about 1.1 over the first ten steps, i.e. the 3B model answered roughly half the problems right from the start.`,
      look:
        `- **Training reward** and **math_hard vs format**: the format reward is usually learned first (it is
  dense); correctness follows only if some completions in a group are right.
- **Held-out metrics** (problems never trained on) at step 0, every \`eval_steps\` and at the end, each with
  its 95 % Wilson interval in \`metrics.jsonl\`: \`eval/accuracy\` (strict, greedy, \`<answer>\` slot only),
  \`eval/accuracy_lenient\` (the same greedy answers read by the fallback chain), \`eval/format_rate\` (share of
  answers in the requested format) and \`eval/mean_at_k\` (mean strict accuracy of \`eval_num_samples\`
  samples per problem at the training temperature). Strict accuracy rising while lenient stays flat means the
  policy learned the format, not the arithmetic; training reward can rise without any of them.
- **Completion length** and **KL**: a collapse to very short answers, or a drift far from the base model.`,
    },
    math_perplexity: {
      title: "math_perplexity: fluency under the policy itself",
      reward: `Two rewards, summed:

- **perplexity** = 2 / (1 + PPL / 50), where PPL = exp(−mean log p(completion token | prompt, earlier
  tokens)) under **the policy itself** (the base model plus the current LoRA adapter); PPL 50 gives 1, lower
  perplexity approaches 2;
- **format** = 0.25 per closed tag pair (max 0.5), as in math_hard.

Nothing here checks the answer: the policy is rewarded for text it finds likely. The held-out accuracy shows
whether that helps or hurts correctness.`,
      study:
        `In the original study's "perplexity" runs perplexity was never computed: both reward functions were logged under
one name, \`wrapped_func\`, and the two columns (\`rewards/wrapped_func/mean\` and \`…/mean#2\`) hold identical
values at every one of the 100 steps — the format reward counted twice. This project names each reward apart
(\`rewards/perplexity/mean\`, \`rewards/format/mean\`) and refuses duplicate names; the Comparison notebook's
integrity check flags the duplicated columns in the TRL log.`,
      look:
        `- **perplexity vs format** in the per-function plot: two different curves (they were one curve in the study).
- **Completion length**: a policy rewarded for its own likelihood can drift to short, repetitive, very likely
  text; watch length and the sample completions.
- **Held-out accuracy**: expected flat or down, since correctness is not rewarded.`,
    },
    dialogue_hard: {
      title: "dialogue_hard: a judge's pass/fail",
      reward: `One reward:

- **gemini_hard** = 2 when the judge scores the response at least 7 of 10, else 0.

The judge is Gemini (\`gemini-2.5-flash\`), asked to grade helpfulness, correctness and fluency against the
instruction and the reference response. It needs \`GEMINI_API_KEY\` in the environment of the Jupyter kernel
(set it before starting Jupyter). Without a key, or when Gemini fails after its retries, each item is scored by
a local **overlap fallback** (10 × unigram F1 between response and reference): a crude stand-in that knows
nothing about correctness. Every fallback is counted: \`judge/fallback_frac\` per step and
\`eval/judge_fallback_frac\` for the held-out evaluation; a run with more than 5% fallbacks is flagged by the
integrity checks. Set \`use_gemini = false\` to use only the fallback (offline, no API calls).`,
      study:
        `The original study used the same 7/10 threshold with Gemini as judge (its run also carried a math format reward,
which scored 0 at every step on dialogue). In its TRL log the reward stayed flat (around 1.2–1.3 over the first
and last ten steps) while completions grew long: the mean length over the last ten steps (about 410 tokens) is
well above the first ten (about 150). Longer answers did not earn more passes.`,
      look:
        `- **Reward** against **completion length**: length rising while reward is flat is the pattern the study
  showed; the integrity check \`length_blowup\` fires on it.
- **Judge fallback share**: when it is above 0, part of the reward came from the overlap heuristic, not Gemini.
- **Held-out judge score** (\`eval/judge_score\`, 0–10) at the start and the end, beside two judge-free
  measures of the same greedy answers: \`eval/reference_overlap\` (mean ROUGE-L F1 against the reference
  response) and \`eval/mean_length\` (tokens). A judge score that rises while overlap falls and length grows
  is a length-hacking policy.`,
    },
    dialogue_perplexity: {
      title: "dialogue_perplexity: fluency under a separate frozen model",
      reward: `Two rewards, summed:

- **perplexity** = 2 / (1 + PPL / 50) of the response given the instruction, scored by **a separate frozen
  language model** that does not learn (the scorer), so the policy cannot lower the perplexity by changing
  the scorer;
- **format** = 0.25 per closed \`<reasoning>\`/\`<answer>\` tag pair (a math format on dialogue, kept from the study).

The parameter \`scorer_model\` picks the scorer. Its default, null, is what the experiment defaults to: a frozen
copy of the base model (\`model\`), which works offline. A hub id such as \`Xenova/DialoGPT-small\` (the original
study's choice) needs the Hugging Face hub the first time (then it is cached).`,
      study:
        `As in math_perplexity, the study never evaluated perplexity: both rewards were logged as \`wrapped_func\`
with identical columns. Here both were 0 at every one of the 100 steps, so the run had no reward signal at all.`,
      look:
        `- **perplexity** and **format** curves apart: does the policy move toward text the scorer finds likely?
- **Completion length** and the sample completions: short, generic, repetitive responses are the cheap way to
  low perplexity.
- **Held-out judge score**: whether fluency under the scorer goes with better answers (scored by the judge;
  \`use_gemini\` as in DialogueHard).`,
    },
  };

/** The Soft notebook's introduction. */
export const SOFT_TEXT = {
  title: "Soft rewards: math_soft and dialogue_soft",
  reward: `This notebook trains two experiments one after the other and compares them.

- **math_soft** = 2 · (1 − min(|answer − gold| / |gold|, 1)) (partial credit by relative error; absolute error
  when gold is 0), with the answer read only from the \`<answer>…</answer>\` slot as in math_hard (0 when
  there is no slot or no number in it), plus **format** (0.25 per closed tag pair).
- **dialogue_soft** = judge score / 5 (0–10 → 0–2), the judge being Gemini or its counted overlap fallback (see
  DialogueHard for \`GEMINI_API_KEY\`).

Soft rewards give partial credit, so fewer groups have identical rewards and more of them carry a gradient:
\`frac_reward_zero_std\` should be lower than in the hard experiments.`,
  study:
    `The original study planned soft variants of both tasks; the TRL logs shared with this project hold no soft
runs, so there is nothing from the study to compare with here (the Comparison notebook shows what exists).`,
  look: `- **Share of groups with identical rewards** (\`frac_reward_zero_std\`): the density of the signal.
- **Reward per function** for each experiment and the **held-out** metrics (accuracy for math, judge score for
  dialogue: different scales, so they are compared within each task, not with each other).
- **Statistics** and **findings** at the end are computed from the logged data.`,
};

/** The Testing notebook's introduction. */
export const TESTING_TEXT = `# Testing: every trained adapter side by side

Loads every adapter found in \`outputs_dir\` (the final checkpoint of each run) plus the base model, and runs
them all on the same fixed set of **new** math problems and dialogue prompts: generated with their own seeds and
checked against every training split (the six experiments' data pools and the tiny model's pretraining corpus),
so none of them was ever trained on. Answers are greedy (temperature 0), so the table is reproducible.

Shown per model: math accuracy, a dialogue score (the judge's mean 0–10 score with \`dialogue_score = "judge"\`:
Gemini when \`GEMINI_API_KEY\` is set, else the counted overlap fallback; or the median perplexity of each
response under the frozen base model with \`dialogue_score = "perplexity"\`, lower is better), mean completion
lengths in tokens, and **degenerate outputs**: empty answers, repetition (a word 3-gram three times, or a short
unit repeated many times in a row), and math answers with no closed \`<answer>…</answer>\`. Then the first few
problems and prompts with every model's answer next to each other.`;

/** The Comparison notebook's introduction. */
export const COMPARISON_TEXT = `# Comparison: all six experiments, and the original study's TRL logs

With \`run_all = false\` (the default) this notebook analyses whatever runs exist in \`outputs_dir\`, plus the
original study's TRL logs (\`trl_logs\`; \`"auto"\` uses \`../../shared/data/trl-logs\` when it exists, \`null\`
skips them), and names each of the six experiments (per seed) that is missing with the command that produces it.
With \`run_all = true\` it first runs all six experiments for every seed in \`seeds\` as one sweep
(options for every run in \`run_params\`, e.g. \`{ "max_steps": 40 }\`), with progress, then analyses:
\`backend = "local"\` runs them here one after another, \`backend = "slurm"\` submits one Slurm job array
(options in \`slurm\`) and follows it. Either way \`outputs_dir\` gets \`sweep.json\` (every run's state) and
one folder per run; complete runs are kept, stopped ones resume from their latest checkpoint (see the README,
"Running the study on a cluster").

Order: what was found, **integrity checks** (signs that a comparison would mislead: a reward counted twice,
no reward signal, judge fallbacks, length blow-up, missing held-out metric), statistics tables (start/end
windows, slopes, held-out before/after, bootstrap 95% CIs across seeds), the dashboard figures, and
**Findings**: sentences generated from those statistics only. Finally the same analysis is written as one
offline HTML report.`;
