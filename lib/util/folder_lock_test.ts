/**
 * The folder lock with real processes: a holder in another process, a holder killed with SIGKILL (stale,
 * taken over with one notice), a lock from another host (never broken), release on `Deno.exit`, and
 * several processes racing for one stale lock (exactly one wins).
 * @module
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { UserError } from "./errors.ts";
import { acquireFolderLock, LOCK_FILE } from "./folder_lock.ts";

const ROOT = await Deno.makeTempDir({ prefix: "folder-lock-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const MODULE = fileURLToPath(new URL("./folder_lock.ts", import.meta.url));

/**
 * A child process that takes the lock of `dir`, prints `got` (or its error line), then holds it for `holdMs`
 * and exits with `exit` through `Deno.exit` (or waits to be killed when holdMs is Infinity).
 */
function holder(dir: string, o: { holdMs: number; exit?: number }): Deno.ChildProcess {
  const code = `
    import { acquireFolderLock } from ${JSON.stringify(MODULE)};
    try {
      await acquireFolderLock(${JSON.stringify(dir)}, { what: "test" });
      console.log("got");
    } catch (e) {
      console.log("error: " + e.message);
      Deno.exit(2);
    }
    ${
    Number.isFinite(o.holdMs)
      ? `await new Promise((r) => setTimeout(r, ${o.holdMs}));`
      : "await new Promise(() => setInterval(() => {}, 1000));"
  }
    Deno.exit(${o.exit ?? 0});
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
}

async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0];
}

Deno.test("folder lock: a second writer gets one line naming the holder; released, the lock can be taken again", async () => {
  const dir = join(ROOT, "two");
  const child = holder(dir, { holdMs: Infinity });
  assertEquals(await firstLine(child), "got");
  const e = await assertRejects(() => acquireFolderLock(dir, { label: "output_dir" }), { cls: UserError });
  assert(
    e.message.startsWith(
      `output_dir ${dir} is in use by another writer (pid ${child.pid} on ${hostname()} since `,
    ),
    e.message,
  );
  assert(!e.message.includes("\n"), "one line");
  child.kill("SIGTERM"); // no listener: the process dies without releasing; the lock is left behind
  await child.status;
  await child.stdout.cancel().catch(() => {});
  await child.stderr.cancel().catch(() => {});
  const lines: string[] = [];
  const lock = await acquireFolderLock(dir, { label: "output_dir", log: (l) => lines.push(l) });
  assertEquals(lines.length, 1, { msg: "one notice for the stale lock" });
  assert(
    lines[0].startsWith(
      `notice: output_dir ${dir}: taking over the lock of a writer that is gone (pid ${child.pid} `,
    ),
    lines[0],
  );
  assertEquals(JSON.parse(await Deno.readTextFile(join(dir, LOCK_FILE))).pid, Deno.pid);
  await assertRejects(() => acquireFolderLock(dir), {
    cls: UserError,
    includes: "already in use by this process",
  });
  await lock.release();
  await lock.release(); // idempotent
  assertEquals(await Deno.stat(join(dir, LOCK_FILE)).catch(() => null), null, { msg: "released" });
  const again = await acquireFolderLock(dir, { log: () => assert(false, "no notice for a free folder") });
  await again.release();
});

Deno.test("folder lock: released on Deno.exit; a SIGKILLed holder's lock is stale and taken over", async () => {
  const dir = join(ROOT, "exit");
  const child = holder(dir, { holdMs: 0, exit: 3 });
  const [line, status] = [await firstLine(child), await child.status];
  await child.stderr.cancel();
  assertEquals([line, status.code], ["got", 3]);
  assertEquals(await Deno.stat(join(dir, LOCK_FILE)).catch(() => null), null, {
    msg: "Deno.exit released it",
  });

  const killed = holder(dir, { holdMs: Infinity });
  assertEquals(await firstLine(killed), "got");
  killed.kill("SIGKILL");
  await killed.status;
  await killed.stdout.cancel().catch(() => {});
  await killed.stderr.cancel().catch(() => {});
  const lines: string[] = [];
  await using _lock = await acquireFolderLock(dir, { log: (l) => lines.push(l) });
  assertEquals(lines.length, 1, { msg: lines.join("\n") });
  assert(lines[0].includes(`gone (pid ${killed.pid} on ${hostname()}`), lines[0]);
});

Deno.test("folder lock: a lock from another host is never broken; the error says how to remove it", async () => {
  const dir = join(ROOT, "remote");
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const remote = { pid: 1, host: "node-elsewhere", since: "2026-01-01T00:00:00.000Z", token: "t" };
  await Deno.writeTextFile(path, JSON.stringify(remote));
  const e = await assertRejects(() => acquireFolderLock(dir, { label: "sweep folder" }), { cls: UserError });
  assertEquals(
    e.message,
    `sweep folder ${dir} is in use by pid 1 on node-elsewhere since 2026-01-01T00:00:00.000Z, another host; if nothing runs there any more, remove ${path}`,
  );
  assertEquals(JSON.parse(await Deno.readTextFile(path)), remote, { msg: "left alone" });
});

Deno.test("folder lock: processes racing for one stale lock: exactly one takes it", async () => {
  const dir = join(ROOT, "race");
  await Deno.mkdir(dir, { recursive: true });
  // A lock of a process that is gone (pid 2^22 + 1 is above Linux's pid_max default).
  await Deno.writeTextFile(
    join(dir, LOCK_FILE),
    JSON.stringify({ pid: 4_194_305, host: hostname(), since: "2026-01-01T00:00:00.000Z", token: "old" }),
  );
  const children = Array.from({ length: 4 }, () => holder(dir, { holdMs: 5000 }));
  const lines = await Promise.all(children.map(firstLine));
  await Promise.all(children.map(async (c) => {
    await c.status;
    await c.stdout.cancel().catch(() => {});
    await c.stderr.cancel().catch(() => {});
  }));
  assertEquals(lines.filter((l) => l === "got").length, 1, { msg: lines.join("\n") });
  assert(
    lines.filter((l) => l !== "got").every((l) => l.includes("in use by another writer")),
    lines.join("\n"),
  );
});
