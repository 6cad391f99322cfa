import { initLora, loadLora, loraShapes, saveLora } from "./lora.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import type { LlamaShape } from "./llama.ts";

const CFG: LlamaShape = {
  vocabSize: 20,
  hiddenSize: 8,
  intermediateSize: 12,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
  headDim: 4,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
  qkvBias: false,
};
const SPEC = { r: 2, alpha: 4, targets: ["q_proj", "down_proj"] as const };

Deno.test("LoRA: PEFT names and shapes; B starts at zero", () => {
  const a = initLora(CFG, { ...SPEC, targets: [...SPEC.targets] }, { seed: 1 });
  assertEquals(a.tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight")!.shape, [2, 12]);
  assertEquals(a.tensors.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")!.shape, [
    4 * 2,
    2,
  ]);
  for (const [n, t] of a.tensors) if (n.includes("lora_B")) assert(t.data.every((x) => x === 0));
  assertEquals(loraShapes(CFG, { ...SPEC, targets: [...SPEC.targets] }).size, 2 * 2 * 2);
});

Deno.test("LoRA: save → load round-trips exactly; adapter_config.json is PEFT's", async () => {
  const dir = await Deno.makeTempDir();
  const a = initLora(CFG, { ...SPEC, targets: [...SPEC.targets] }, { seed: 2, baseModel: "data/tiny" });
  await saveLora(dir, a);
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
  assertEquals([cfg.peft_type, cfg.r, cfg.lora_alpha, cfg.target_modules], ["LORA", 2, 4, [
    "q_proj",
    "down_proj",
  ]]);
  const b = await loadLora(dir, CFG);
  for (const [n, t] of a.tensors) assertEquals(Array.from(b.tensors.get(n)!.data), Array.from(t.data));
});

Deno.test("LoRA: an adapter trained for another model is a one-line error naming the tensor", async () => {
  const dir = await Deno.makeTempDir();
  await saveLora(dir, initLora(CFG, { ...SPEC, targets: [...SPEC.targets] }));
  const other = { ...CFG, hiddenSize: 16, headDim: 8 };
  const e = await assertRejects(() => loadLora(dir, other), {
    cls: UserError,
    includes: "adapter trained for another model",
  });
  assert(e.message.includes("lora_A.weight") && !e.message.includes("\n"));
  await assertRejects(() => loadLora(dir, { ...CFG, numLayers: 3 }), {
    cls: UserError,
    includes: "missing base_model.model.model.layers.2",
  });
  await assertRejects(() => loadLora(`${dir}/nope`, CFG), {
    cls: UserError,
    includes: "has no adapter_config.json",
  });
});

Deno.test("LoRA: invalid specs are rejected", () => {
  assertThrows(() => initLora(CFG, { r: 0, alpha: 1, targets: ["q_proj"] }), {
    cls: UserError,
    includes: "lora.r",
  });
  assertThrows(() => initLora(CFG, { r: 2, alpha: 1, targets: ["qq_proj" as unknown as "q_proj"] }), {
    cls: UserError,
    includes: 'unknown lora target "qq_proj"',
  });
});
