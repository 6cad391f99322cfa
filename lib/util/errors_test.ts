import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";
import { osErrorReason, UserError, writeError } from "./errors.ts";

Deno.test("osErrorReason: the OS's reason without Deno's operation and path; null for other errors", async () => {
  const e = await Deno.readTextFile("/nonexistent/x").catch((e) => e);
  assertEquals(osErrorReason(e), "No such file or directory (os error 2)");
  assertEquals(osErrorReason(new Error("plain")), null);
  const u = new UserError("bad value");
  assertEquals(writeError("/x", u), u, { msg: "a UserError passes through" });
  const w = writeError("/out/m.jsonl", e, { what: "metrics" });
  assert(w instanceof UserError && w.cause === e, "an OS error becomes a UserError with its cause");
  assertEquals(w.message, "cannot write metrics /out/m.jsonl: No such file or directory (os error 2)");
});

Deno.test({
  name: "runMain: a full disk (/dev/full) is one error line naming the path, exit 2, no stack",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const mod = fileURLToPath(new URL("./errors.ts", import.meta.url));
    const code = `import { runMain } from ${JSON.stringify(mod)};
      await runMain(() => Deno.writeTextFile("/dev/full", "x".repeat(65536)));`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const err = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 2, { msg: err });
    assertEquals(err, "error: /dev/full: No space left on device (os error 28) (writefile)\n");
  },
});
