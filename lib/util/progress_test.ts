import { assertEquals } from "./assert.ts";
import { formatFields, formatProgress, formatValue } from "./progress.ts";

Deno.test("progress lines use one number format: integers as is, else 4 significant digits without trailing zeros", () => {
  assertEquals(formatValue(812), "812");
  assertEquals(formatValue(0.5), "0.5");
  assertEquals(formatValue(0.41333333), "0.4133");
  assertEquals(formatValue(1234.5678), "1235");
  assertEquals(
    formatFields("[eval] step 0", { "eval/accuracy": 0.41, n: 100 }),
    "[eval] step 0 eval/accuracy=0.41 n=100",
  );
  const line = formatProgress({
    label: "train",
    step: 3,
    total: 10,
    elapsed: 12,
    eta: 28,
    fields: { reward: 0.5, loss: -0.012345, "eval/accuracy": 0.4, "tok/s": 812 },
  });
  assertEquals(
    line,
    "[train] step 3/10 (30%) reward=0.5 loss=-0.01235 eval/accuracy=0.4 tok/s=812 elapsed 12s ETA 28s",
  );
});
