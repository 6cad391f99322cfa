import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import {
  encodeSafetensors,
  loadModelWeights,
  readSafetensors,
  readSafetensorsHeader,
  toFloat32,
  writeSafetensors,
} from "./safetensors.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-model-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const tempDir = () => Deno.makeTempDir({ dir: ROOT });

/** Builds a safetensors file by hand: header object + raw data bytes. */
function rawFile(header: unknown, data: Uint8Array, pad = true): Uint8Array {
  let h = JSON.stringify(header);
  if (pad) h += " ".repeat((8 - (h.length % 8)) % 8);
  const hb = new TextEncoder().encode(h);
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

function u16le(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => dv.setUint16(2 * i, v, true));
  return b;
}

Deno.test("safetensors: F32/F64/I64/I32 round trip with metadata and 8-byte padded header", async () => {
  const dir = await tempDir();
  const path = join(dir, "a.safetensors");
  const f32 = new Float32Array([1.5, -2.25, 3, 0, 1e-20, 7]);
  const f64 = new Float64Array([Math.PI, -1e300]);
  const i64 = new BigInt64Array([-5n, 9007199254740993n]);
  const i32 = new Int32Array([-7, 2147483647, 0]);
  await writeSafetensors(path, {
    "w.f32": { shape: [2, 3], data: f32 },
    "w.f64": { shape: [2], data: f64 },
    "w.i64": { shape: [1, 2], data: i64 },
    "w.i32": { shape: [3], data: i32 },
    "w.empty": { shape: [0, 4], data: new Float32Array(0) },
  }, { metadata: { format: "pt" } });
  const bytes = await Deno.readFile(path);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(n % 8, 0);
  const header = await readSafetensorsHeader(path);
  assertEquals(header.metadata, { format: "pt" });
  assertEquals([...header.tensors.keys()], ["w.f32", "w.f64", "w.i64", "w.i32", "w.empty"]);
  assertEquals(header.dataStart, 8 + n);
  const t = await readSafetensors(path);
  assertEquals(t.get("w.f32"), { dtype: "F32", shape: [2, 3], data: f32 });
  assertEquals(t.get("w.f64"), { dtype: "F64", shape: [2], data: f64 });
  assertEquals(t.get("w.i64"), { dtype: "I64", shape: [1, 2], data: i64 });
  assertEquals(t.get("w.i32"), { dtype: "I32", shape: [3], data: i32 });
  assertEquals(t.get("w.empty")?.data.length, 0);
  // no temp files left behind by the atomic write
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["a.safetensors"]);
  assertEquals(toFloat32(t.get("w.f64")!), new Float32Array([Math.PI, -Infinity]));
  assert(toFloat32(t.get("w.f32")!) === t.get("w.f32")!.data);
  assertThrows(() => toFloat32(t.get("w.i64")!, "w.i64"), {
    cls: UserError,
    includes: "w.i64 has dtype I64, expected a float tensor",
  });
  const filtered = await readSafetensors(path, { filter: (name) => name === "w.i32" });
  assertEquals([...filtered.keys()], ["w.i32"]);
});

Deno.test("safetensors: F16 and BF16 widen to float32 exactly (unaligned data offset, unpadded header)", async () => {
  const dir = await tempDir();
  const path = join(dir, "h.safetensors");
  // F16: 1, -2, 0.5, 65504, 2^-24 (subnormal), +inf, -0 ; BF16: 1, -2, 3.140625, NaN
  const f16 = u16le([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00, 0x8000]);
  const bf16 = u16le([0x3f80, 0xc000, 0x4049, 0x7fc0]);
  const data = new Uint8Array(f16.length + bf16.length);
  data.set(f16);
  data.set(bf16, f16.length);
  const header = {
    a: { dtype: "F16", shape: [7], data_offsets: [0, 14] },
    b: { dtype: "BF16", shape: [2, 2], data_offsets: [14, 22] },
  };
  await Deno.writeFile(path, rawFile(header, data, false));
  const t = await readSafetensors(path);
  const a = t.get("a")!, b = t.get("b")!;
  assertEquals(a.dtype, "F16");
  assert(a.data instanceof Float32Array);
  assertEquals([...a.data], [1, -2, 0.5, 65504, 2 ** -24, Infinity, -0]);
  assert(Object.is(a.data[6], -0));
  assertEquals(b.dtype, "BF16");
  assertEquals(b.shape, [2, 2]);
  assertEquals([...b.data].slice(0, 3), [1, -2, 3.140625]);
  assert(Number.isNaN(b.data[3] as number));
});

async function expectError(bytes: Uint8Array | null, includes: string, headerOnly = false): Promise<void> {
  const dir = await tempDir();
  const path = join(dir, "bad.safetensors");
  if (bytes) await Deno.writeFile(path, bytes);
  const err = await assertRejects(() => readSafetensors(path), { cls: UserError, includes: includes });
  assert(err.message.includes(path), `message names the file: ${err.message}`);
  assert(!err.message.includes("\n"));
  if (headerOnly) {
    await assertRejects(() => readSafetensorsHeader(path), { cls: UserError, includes: includes });
  }
}

Deno.test("safetensors: corrupt files give one-line UserErrors naming the file", async () => {
  await expectError(null, "not found", true);
  await expectError(new Uint8Array(5), "only 5 bytes", true);
  const big = new Uint8Array(20);
  new DataView(big.buffer).setBigUint64(0, 1000n, true);
  await expectError(big, "header length 1000 is beyond the file size 20", true);
  const notJson = rawFile({}, new Uint8Array(0));
  notJson.set(new TextEncoder().encode("{oops"), 8);
  await expectError(notJson, "header is not valid JSON", true);
  const f32 = new Uint8Array(8);
  await expectError(
    rawFile({ x: { dtype: "F32", shape: [2], data_offsets: [0, 16] } }, f32),
    `tensor "x" data_offsets [0,16] out of range (data section is 8 bytes)`,
    true,
  );
  await expectError(
    rawFile({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32),
    `tensor "x" has 8 bytes but shape [3] of F32 needs 12`,
    true,
  );
  await expectError(
    rawFile({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 8] } }, f32),
    "invalid shape",
    true,
  );
  await expectError(
    rawFile({ x: { shape: [2], data_offsets: [0, 8] } }, f32),
    `tensor "x" has no dtype`,
    true,
  );
  await expectError(rawFile([1, 2], f32), "header is not a JSON object", true);
  // an unknown dtype: the header still reads, the data does not
  const fp8 = rawFile({ q: { dtype: "F8_E4M3", shape: [8], data_offsets: [0, 8] } }, f32);
  await expectError(fp8, `tensor "q" has unsupported dtype F8_E4M3`);
  const dir = await tempDir();
  await Deno.writeFile(join(dir, "fp8.safetensors"), fp8);
  assertEquals(
    (await readSafetensorsHeader(join(dir, "fp8.safetensors"))).tensors.get("q")?.dtype,
    "F8_E4M3",
  );
});

Deno.test("safetensors: writer rejects data that does not match its shape", () => {
  let msg = "";
  try {
    encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } });
  } catch (e) {
    msg = (e as Error).message;
    assert(e instanceof UserError);
  }
  assertEquals(msg, `tensor "w": shape [2,2] does not match 3 values`);
});

Deno.test("safetensors: loadModelWeights reads a single file or a sharded index", async () => {
  const dir = await tempDir();
  await assertRejects(() => loadModelWeights(dir), {
    cls: UserError,
    includes: "has neither model.safetensors",
  });
  await writeSafetensors(join(dir, "model-00001-of-00002.safetensors"), {
    a: { shape: [2], data: new Float32Array([1, 2]) },
  });
  await writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), {
    b: { shape: [1], data: new Float32Array([3]) },
    c: { shape: [1], data: new Float32Array([4]) },
  });
  const index = {
    metadata: { total_size: 16 },
    weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" },
  };
  await Deno.writeTextFile(join(dir, "model.safetensors.index.json"), JSON.stringify(index));
  const w = await loadModelWeights(dir);
  assertEquals([...w.keys()].sort(), ["a", "b"]);
  assertEquals([...w.get("b")!.data], [3]);
  const onlyA = await loadModelWeights(dir, { filter: (n) => n === "a" });
  assertEquals([...onlyA.keys()], ["a"]);

  index.weight_map.b = "model-00001-of-00002.safetensors";
  await Deno.writeTextFile(join(dir, "model.safetensors.index.json"), JSON.stringify(index));
  await assertRejects(() => loadModelWeights(dir), {
    cls: UserError,
    includes: `tensor "b" is listed in model-00001-of-00002`,
  });
  index.weight_map.b = "../evil.safetensors";
  await Deno.writeTextFile(join(dir, "model.safetensors.index.json"), JSON.stringify(index));
  await assertRejects(() => loadModelWeights(dir), { cls: UserError, includes: "is not a shard file name" });
  await Deno.writeTextFile(join(dir, "model.safetensors.index.json"), "{");
  await assertRejects(() => loadModelWeights(dir), { cls: UserError, includes: "not valid JSON" });

  await writeSafetensors(join(dir, "model.safetensors"), { z: { shape: [1], data: new Float32Array([9]) } });
  assertEquals([...(await loadModelWeights(dir)).keys()], ["z"]);
});

const ORACLE = new URL("../../../shared/oracle/grpo_reference.py", import.meta.url).pathname;
const hasOracle = (() => {
  try {
    Deno.statSync(ORACLE);
    const r = new Deno.Command("/usr/bin/python3", { args: ["-c", "import numpy, torch"] }).outputSync();
    return r.success;
  } catch {
    return false;
  }
})();
if (!hasOracle) {
  console.warn("safetensors_test: skipping the oracle cross-check (no oracle or no python3 torch)");
}

Deno.test({
  name: "safetensors: files written here and by the PyTorch oracle read the same on both sides",
  ignore: !hasOracle,
  fn: async () => {
    const dir = await tempDir();
    const ours = join(dir, "ours.safetensors"), theirs = join(dir, "theirs.safetensors");
    await writeSafetensors(ours, {
      x: { shape: [2, 2], data: new Float32Array([0.5, -1, 2, 4]) },
      y: { shape: [3], data: new Float64Array([1e-300, 2, 3]) },
      z: { shape: [2], data: new BigInt64Array([-3n, 4n]) },
    }, { metadata: { format: "pt" } });
    const script = `
import importlib.util, sys, numpy as np

spec = importlib.util.spec_from_file_location("oracle", sys.argv[1]); m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
t = m.read_safetensors(sys.argv[2])
assert t["x"].dtype == np.float32 and t["x"].tolist() == [[0.5, -1.0], [2.0, 4.0]], t["x"]
assert t["y"].dtype == np.float64 and t["y"].tolist() == [1e-300, 2.0, 3.0]
assert t["z"].dtype == np.int64 and t["z"].tolist() == [-3, 4]
m.write_safetensors(sys.argv[3], {"h": np.array([1.5, -0.25], dtype=np.float16),
  "f": np.arange(6, dtype=np.float32).reshape(2, 3), "i": np.array([7, -8], dtype=np.int32)})
`;
    const r = await new Deno.Command("/usr/bin/python3", { args: ["-c", script, ORACLE, ours, theirs] })
      .output();
    assert(r.success, new TextDecoder().decode(r.stderr));
    const t = await readSafetensors(theirs);
    assertEquals(t.get("h"), { dtype: "F16", shape: [2], data: new Float32Array([1.5, -0.25]) });
    assertEquals(t.get("f"), { dtype: "F32", shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) });
    assertEquals(t.get("i"), { dtype: "I32", shape: [2], data: new Int32Array([7, -8]) });
  },
});
