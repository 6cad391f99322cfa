import { assertEquals } from "./assert.ts";
import { hubCacheRoot } from "./cache_dir.ts";
import { homedir } from "node:os";

Deno.test("hubCacheRoot: models and datasets side by side, under $HF_HOME when it is set", () => {
  const saved = Deno.env.get("HF_HOME");
  try {
    Deno.env.set("HF_HOME", "/tmp/hfhome");
    assertEquals([hubCacheRoot("models"), hubCacheRoot("datasets")], [
      "/tmp/hfhome/grpo-ts/models",
      "/tmp/hfhome/grpo-ts/datasets",
    ]);
    Deno.env.delete("HF_HOME");
    assertEquals(hubCacheRoot("models"), `${homedir()}/.cache/grpo-ts/models`);
    assertEquals(hubCacheRoot("datasets"), `${homedir()}/.cache/grpo-ts/datasets`);
  } finally {
    if (saved === undefined) Deno.env.delete("HF_HOME");
    else Deno.env.set("HF_HOME", saved);
  }
});
