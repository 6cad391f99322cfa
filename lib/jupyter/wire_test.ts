import { decodeMessage, DELIMITER, encodeMessage, makeMessage, sign } from "./wire.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";

const enc = (frames: (string | Uint8Array)[]) =>
  frames.map((f) => typeof f === "string" ? new TextEncoder().encode(f) : f);

Deno.test("sign: HMAC-SHA256 over the four parts matches Python's hmac (and is empty without a key)", () => {
  // python3 -c "import hmac,hashlib; print(hmac.new(b'secret', b'{\"a\":1}{}{}{\"b\":2}', hashlib.sha256).hexdigest())"
  assertEquals(
    sign(['{"a":1}', "{}", "{}", '{"b":2}'], "secret"),
    "9b14d94617bffb278285cea390d9dc17e01ec3188dba313f9548021906557a7b",
  );
  assertEquals(sign(["x"], ""), "");
});

Deno.test("encode/decode round trip, with routing identities or a topic in front", () => {
  const msg = makeMessage("execute_request", { code: "1+1" }, { session: "s1" });
  const frames = encodeMessage(msg, "k");
  assertEquals(frames[0], DELIMITER);
  const back = decodeMessage(enc(["kernel.abc.status", ...frames]), "k");
  assertEquals(back.header, msg.header);
  assertEquals(back.content, { code: "1+1" });
  assertEquals(back.parent_header, {});
  assertEquals(back.buffers.length, 0);
});

Deno.test("decode rejects a bad signature, a missing delimiter and a non-JSON part", () => {
  const frames = enc(encodeMessage(makeMessage("x", {}, { session: "s" }), "right"));
  assertThrows(() => decodeMessage(frames, "wrong"), { cls: Error, includes: "bad HMAC signature" });
  assertThrows(() => decodeMessage(frames.slice(1), "right"), { cls: Error, includes: "delimiter" });
  const broken = [...frames];
  broken[5] = new TextEncoder().encode("{not json");
  assertThrows(() => decodeMessage(broken, ""), { cls: Error, includes: "not JSON" });
  assert(decodeMessage(frames, "").header.msg_type === "x", "an empty key turns verification off");
});
