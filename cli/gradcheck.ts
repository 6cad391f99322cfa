/**
 * `deno task gradcheck --model DIR --case CASE.json --out GRADS.safetensors [--device cpu|cuda|auto]`
 * Runs an oracle case (see `/usr/bin/python3 ../shared/oracle/grpo_reference.py --help`) through the engine
 * and writes `loss`, `logprobs` and the LoRA gradients under their PEFT names (float64). Every loss type of
 * the oracle is accepted (grpo, bnpo, dr_grpo, dapo, cispo, sapo), with `importance_sampling_level`
 * (GSPO), `delta` and the SAPO temperatures; `lib/grpo/oracle_case_test.ts` runs the whole family.
 * @module
 */
import { runOracleCase } from "../lib/grpo/oracle_case.ts";
import { writeSafetensors } from "../lib/model/safetensors.ts";
import { parseFlags } from "../lib/util/cli.ts";
import { runMain, UserError } from "../lib/util/errors.ts";

await runMain(async () => {
  const { values } = parseFlags(Deno.args, {
    model: { type: "string" },
    case: { type: "string" },
    out: { type: "string" },
    device: { type: "string", default: "cpu" },
  });
  if (!values.model || !values.case || !values.out) {
    throw new UserError("usage: deno task gradcheck --model DIR --case CASE.json --out GRADS.safetensors");
  }
  if (!["cpu", "cuda", "auto"].includes(values.device!)) {
    throw new UserError(`--device must be cpu, cuda or auto, got "${values.device}"`);
  }
  const result = await runOracleCase(values.model, values.case, { device: values.device as "cpu" });
  await writeSafetensors(values.out, result);
  console.log(`loss ${result.get("loss")!.data[0].toPrecision(10)}  tensors ${result.size}`);
});
