import { join } from "node:path";
import { assert, assertEquals } from "../util/assert.ts";
import { exportFigures, findChromium } from "./figure_export.ts";

const chromium = findChromium();
if (!chromium) console.warn("skipping the figure-export test: chromium not installed");

Deno.test({
  name: "exportFigures writes each figure as SVG and PNG through headless Chromium",
  ignore: !chromium,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const files = await exportFigures([
        {
          id: "reward",
          title: "r",
          spec: { data: [{ type: "scatter", x: [1, 2], y: [1, 3] }], layout: { title: { text: "R" } } },
        },
        {
          id: "held out/acc",
          title: "h",
          spec: { data: [{ type: "bar", x: ["a"], y: [2] }], layout: { height: 300 } },
        },
      ], dir);
      assertEquals(files.map((f) => f.slice(dir.length + 1)).sort(), [
        "held_out_acc.png",
        "held_out_acc.svg",
        "reward.png",
        "reward.svg",
      ]);
      const svg = await Deno.readTextFile(join(dir, "reward.svg"));
      assert(svg.startsWith("<svg") && svg.includes("main-svg"), svg.slice(0, 200));
      const png = await Deno.readFile(join(dir, "held_out_acc.png"));
      assertEquals([...png.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
      assert(png.length > 1000);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
