/** The bench case reads back, through the one oracle-case setup, as the inputs of a GRPO step. */
import { join } from "node:path";
import { prepareWorkload, WORK } from "./workload.ts";
import { readOracleStepInputs } from "../lib/grpo/mod.ts";
import { assert, assertAlmostEquals, assertEquals } from "../lib/util/assert.ts";

Deno.test("workload: the bench case becomes a batch, an adapter and next-token aligned token weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tiny = {
      vocab_size: 64,
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
    };
    const { modelDir, casePath } = await prepareWorkload(join(dir, "w"), tiny);
    const s = await readOracleStepInputs(casePath, { baseModel: modelDir });
    const T = WORK.prompt + WORK.completion;
    assertEquals([s.batch.batch, s.batch.length, s.batch.ids.length], [WORK.batch, T, WORK.batch * T]);
    assertEquals(s.lora.spec.r, WORK.rank);
    assertEquals(s.lora.baseModel, modelDir);
    assertEquals(s.lora.tensors.size, 7 * 2); // A and B of seven projections, one layer
    // dapo: every completion token weighs 1 / (completion tokens in the batch); shifted by one position, so
    // position t carries token t+1's weight and no row's last position carries any
    const cm = s.case.completion_mask.flat();
    const n = cm.reduce((a, b) => a + b, 0);
    assertAlmostEquals(s.tokenWeights.reduce((a, b) => a + b, 0), 1, { tol: 1e-9 });
    for (let b = 0; b < WORK.batch; b++) {
      assertEquals(s.tokenWeights[b * T + T - 1], 0);
      for (let t = 0; t + 1 < T; t++) {
        assertAlmostEquals(s.tokenWeights[b * T + t], cm[b * T + t + 1] / n, { tol: 1e-12 });
      }
    }
    assert(n > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
