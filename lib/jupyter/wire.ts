/**
 * The Jupyter wire protocol (v5.3): message headers, HMAC-SHA256 signing and the multipart frame
 * layout `[identities…, "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers…]`.
 * Pure functions, no sockets: the kernel client in `kernel.ts` moves the frames.
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The frame that separates routing identities from the signed message parts. */
export const DELIMITER = "<IDS|MSG>";

/** A Jupyter message header. */
export interface MessageHeader {
  /** Unique id of this message. */
  msg_id: string;
  /** Message type, e.g. `execute_request`. */
  msg_type: string;
  /** Client session id. */
  session: string;
  /** Sender name. */
  username: string;
  /** ISO 8601 timestamp. */
  date: string;
  /** Protocol version. */
  version: string;
}

/** A decoded Jupyter message. */
export interface JupyterMessage {
  /** This message's header. */
  header: MessageHeader;
  /** Header of the request this answers (empty object when none). */
  parent_header: Partial<MessageHeader>;
  /** Free-form metadata. */
  metadata: Record<string, unknown>;
  /** Message body; its shape depends on `header.msg_type`. */
  content: Record<string, unknown>;
  /** Binary buffers that followed the content frame. */
  buffers: Uint8Array[];
}

/** Makes a new message with a fresh header for `session`. */
export function makeMessage(
  msgType: string,
  content: Record<string, unknown>,
  options: { session: string; parent?: Partial<MessageHeader>; metadata?: Record<string, unknown> },
): JupyterMessage {
  return {
    header: {
      msg_id: crypto.randomUUID(),
      msg_type: msgType,
      session: options.session,
      username: "notebook-runner",
      date: new Date().toISOString(),
      version: "5.3",
    },
    parent_header: options.parent ?? {},
    metadata: options.metadata ?? {},
    content,
    buffers: [],
  };
}

/** Hex HMAC-SHA256 of the four signed parts; the empty string when `key` is empty (signing off). */
export function sign(parts: string[], key: string): string {
  if (!key) return "";
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** Encodes `msg` as the frames a Dealer sends (no routing identities). */
export function encodeMessage(msg: JupyterMessage, key: string): (string | Uint8Array)[] {
  const parts = [
    JSON.stringify(msg.header),
    JSON.stringify(msg.parent_header),
    JSON.stringify(msg.metadata),
    JSON.stringify(msg.content),
  ];
  return [DELIMITER, sign(parts, key), ...parts, ...msg.buffers];
}

const decoder = new TextDecoder();

/**
 * Decodes received frames (from a Dealer or a Subscriber, identities/topic first). Throws an Error
 * naming the problem when the delimiter is missing, a part is not JSON, or the signature is wrong.
 */
export function decodeMessage(frames: Uint8Array[], key: string): JupyterMessage {
  const text = (f: Uint8Array | undefined) => (f ? decoder.decode(f) : "");
  const at = frames.findIndex((f) => text(f) === DELIMITER);
  if (at < 0 || frames.length < at + 6) {
    throw new Error(`jupyter message: no "${DELIMITER}" delimiter or too few frames (${frames.length})`);
  }
  const sig = text(frames[at + 1]);
  const parts = [2, 3, 4, 5].map((i) => text(frames[at + i]));
  if (key) {
    const want = sign(parts, key);
    const ok = sig.length === want.length &&
      timingSafeEqual(new TextEncoder().encode(sig), new TextEncoder().encode(want));
    if (!ok) throw new Error("jupyter message: bad HMAC signature");
  }
  const [header, parent, metadata, content] = parts.map((p, i) => {
    try {
      return JSON.parse(p);
    } catch {
      throw new Error(`jupyter message: frame ${at + 2 + i} is not JSON`);
    }
  });
  return {
    header,
    parent_header: parent ?? {},
    metadata: metadata ?? {},
    content: content ?? {},
    buffers: frames.slice(at + 6),
  };
}
