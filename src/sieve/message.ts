/**
 * The message as scripts see it: header fields (which editheader may change, RFC 5293 §5 — later tests
 * see the edits), decoded header values, the size, and body parts for the body test.
 */
import { decodeCharset } from "../mail/mime/charset.js";
import { decodeEncodedWords } from "../mail/mime/encoded-words.js";
import { bytesToText, fieldValue, scanHeader } from "../mail/mime/header.js";
import { parameter } from "../mail/mime/params.js";
import { isEmbeddedMessage, type MessagePart, parseMessageStructure } from "../mail/mime/structure.js";
import { decodeTransfer, transferEncodingOf } from "../mail/mime/transfer-encoding.js";

export interface Field {
  /** The name as written. */
  name: string;
  /** The value unfolded and trimmed, not decoded. */
  value: string;
  /** The field's bytes as they will be written back, CRLF included. */
  raw: Buffer;
}

/** RFC 5322 §3.6.8 field-name: printable ASCII except ":". */
export function isFieldName(name: string): boolean {
  return /^[!-9;-~]+$/.test(name);
}

export class MessageView {
  fields: Field[];
  readonly size: number;
  private readonly bodyStart: number;
  private structure: MessagePart | null = null;
  edited = false;

  constructor(readonly original: Buffer) {
    const header = scanHeader(original, 0, original.length);
    this.fields = header.fields
      .filter((f) => f.key !== "")
      .map((f) => ({ name: f.name, value: fieldValue(original, f), raw: original.subarray(f.start, f.end) }));
    this.bodyStart = header.bodyStart;
    this.size = original.length;
  }

  /** Values of the fields named `name` (case-insensitive), in order, undecoded. */
  rawValues(name: string): string[] {
    const key = name.toLowerCase();
    return this.fields.filter((f) => f.name.toLowerCase() === key).map((f) => f.value);
  }

  /** Values with RFC 2047 encoded words decoded, as the header test compares them (RFC 5228 §5.7). */
  values(name: string): string[] {
    return this.rawValues(name).map(decodeEncodedWords);
  }

  /** The message with the header edits applied; the original bytes when there were none. */
  toBuffer(): Buffer {
    if (!this.edited) return this.original;
    return Buffer.concat([
      ...this.fields.map((f) => f.raw),
      Buffer.from("\r\n"),
      this.original.subarray(this.bodyStart),
    ]);
  }

  /** The body as written, transfer encoding and all (RFC 5173 §5.1 :raw). */
  rawBody(): string {
    return bytesToText(this.original.subarray(this.bodyStart));
  }

  /**
   * The decoded leaf parts whose type one of `types` names — "type", "type/subtype", or "" for any
   * (RFC 5173 §5.2) — descending into multiparts and embedded messages.
   */
  parts(types: readonly string[]): string[] {
    this.structure ??= parseMessageStructure(this.original);
    const wanted = types.map((t) => t.toLowerCase());
    const out: string[] = [];
    const visit = (part: MessagePart) => {
      if (part.children.length > 0) {
        part.children.forEach(visit);
        return;
      }
      if (part.message !== null && isEmbeddedMessage(part)) {
        visit(part.message);
        return;
      }
      const full = `${part.type}/${part.subtype}`;
      if (!wanted.some((t) => t === "" || t === part.type || t === full)) return;
      const data = this.original.subarray(part.bodyStart, part.bodyEnd);
      const encoding = transferEncodingOf(part.encoding);
      const decoded = encoding === null ? data : decodeTransfer(data, encoding);
      out.push(
        part.type === "text"
          ? decodeCharset(decoded, parameter(part.params, "charset") ?? "")
          : bytesToText(decoded),
      );
    };
    visit(this.structure);
    return out;
  }
}
