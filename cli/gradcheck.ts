/**
 * `deno task gradcheck --model DIR --case CASE.json --out GRADS.safetensors [--dtype float32|float64]`
 * Runs an oracle case (see `/usr/bin/python3 ../shared/oracle/grpo_reference.py --help`) through the engine
 * and writes `loss`, `logprobs` and the LoRA gradients under their PEFT names (float64).
 * @module
 */
import { parseArgs } from "node:util";
import { runOracleCase } from "../lib/grpo/oracle_case.ts";
import { writeSafetensors } from "../lib/model/safetensors.ts";
import { runMain, UserError } from "../lib/util/errors.ts";

await runMain(async () => {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        model: { type: "string" },
        case: { type: "string" },
        out: { type: "string" },
        dtype: { type: "string", default: "float32" },
        device: { type: "string", default: "cpu" },
      },
    }));
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  if (!values.model || !values.case || !values.out) {
    throw new UserError("usage: deno task gradcheck --model DIR --case CASE.json --out GRADS.safetensors");
  }
  if (values.dtype !== "float32" && values.dtype !== "float64") {
    throw new UserError(`--dtype must be float32 or float64, got "${values.dtype}"`);
  }
  const result = await runOracleCase(values.model, values.case, {
    dtype: values.dtype,
    device: values.device as "cpu",
  });
  await writeSafetensors(values.out, result);
  console.log(`loss ${result.get("loss")!.data[0].toPrecision(10)}  tensors ${result.size}`);
});
