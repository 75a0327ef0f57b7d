/**
 * Structured MIME header values: Content-Type and Content-Disposition with their parameters
 * (RFC 2045 §5.1, RFC 2183 §2) and RFC 2231 parameter continuations and charsets.
 */
import { decodeCharset } from "./charset.js";

export interface MimeParameter {
  /** Attribute name as first written, without any RFC 2231 "*n" / "*" suffix. */
  name: string;
  /** Value with quoting removed and RFC 2231 continuations joined and charset-decoded. */
  value: string;
}

export interface MediaType {
  type: string;
  subtype: string;
  params: MimeParameter[];
}

export interface Disposition {
  type: string;
  params: MimeParameter[];
}

// RFC 2045 §5.1 tspecials plus space and controls end a token.
const TOKEN_END = /[()<>@,;:\\"/[\]?=\s\x00-\x1f\x7f]/;

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos] ?? "";
  }

  /** Skips whitespace and RFC 822 comments (nested, with quoted pairs). */
  skipCfws(): void {
    while (!this.done) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\r" || c === "\n") {
        this.pos++;
      } else if (c === "(") {
        let depth = 0;
        while (!this.done) {
          const d = this.text[this.pos++];
          if (d === "\\") this.pos++;
          else if (d === "(") depth++;
          else if (d === ")" && --depth === 0) break;
        }
      } else {
        return;
      }
    }
  }

  token(): string {
    const start = this.pos;
    while (!this.done && !TOKEN_END.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  quoted(): string {
    this.pos++;
    let out = "";
    while (!this.done) {
      const c = this.text[this.pos++] ?? "";
      if (c === '"') return out;
      if (c === "\\" && !this.done) out += this.text[this.pos++];
      else out += c;
    }
    return out;
  }

  /** A parameter value: quoted string, token, or (leniently) raw text up to the next ";". */
  value(): { text: string; quoted: boolean } {
    if (this.peek() === '"') return { text: this.quoted(), quoted: true };
    const start = this.pos;
    while (!this.done && this.peek() !== ";") this.pos++;
    return { text: this.text.slice(start, this.pos).trim(), quoted: false };
  }
}

interface RawParameter {
  attribute: string;
  value: string;
  quoted: boolean;
}

function rawParameters(cursor: Cursor): RawParameter[] {
  const out: RawParameter[] = [];
  while (!cursor.done) {
    cursor.skipCfws();
    if (cursor.peek() !== ";") {
      // Junk between parameters: skip to the next separator.
      while (!cursor.done && cursor.peek() !== ";") cursor.pos++;
      continue;
    }
    cursor.pos++;
    cursor.skipCfws();
    const attribute = cursor.token();
    cursor.skipCfws();
    if (attribute === "" || cursor.peek() !== "=") continue;
    cursor.pos++;
    cursor.skipCfws();
    const { text, quoted } = cursor.value();
    out.push({ attribute, value: text, quoted });
  }
  return out;
}

function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of Buffer.from(text[i] ?? "", "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes);
}

interface Section {
  index: number;
  encoded: boolean;
  value: string;
}

/** Joins RFC 2231 continuations and decodes charsets; plain duplicates keep the first occurrence. */
function combineParameters(raw: readonly RawParameter[]): MimeParameter[] {
  const order: string[] = [];
  const names = new Map<string, string>();
  const plain = new Map<string, string>();
  const sections = new Map<string, Section[]>();
  for (const p of raw) {
    const m = /^(.*?)\*(?:(\d+)(\*)?)?$/.exec(p.attribute);
    const base = m?.[1] ?? p.attribute;
    const key = base.toLowerCase();
    if (!names.has(key)) {
      names.set(key, base);
      order.push(key);
    }
    if (m === null) {
      if (!plain.has(key)) plain.set(key, p.value);
      continue;
    }
    const list = sections.get(key) ?? [];
    // "name*" is a single encoded section; "name*3" a plain continuation; "name*3*" an encoded one.
    const index = m[2] === undefined ? 0 : Number(m[2]);
    const encoded = m[2] === undefined || m[3] === "*";
    list.push({ index, encoded, value: p.value });
    sections.set(key, list);
  }
  const out: MimeParameter[] = [];
  for (const key of order) {
    const name = names.get(key) ?? key;
    const parts = sections.get(key);
    if (parts === undefined) {
      out.push({ name, value: plain.get(key) ?? "" });
      continue;
    }
    parts.sort((a, b) => a.index - b.index);
    let charset = "";
    const chunks: Buffer[] = [];
    parts.forEach((part, i) => {
      if (!part.encoded) {
        chunks.push(Buffer.from(part.value, "utf8"));
        return;
      }
      let text = part.value;
      if (i === 0) {
        // RFC 2231 §4: the first encoded section starts with charset'language'.
        const m = /^([^']*)'[^']*'(.*)$/s.exec(text);
        if (m !== null) {
          charset = m[1] ?? "";
          text = m[2] ?? "";
        }
      }
      chunks.push(percentDecode(text));
    });
    out.push({ name, value: decodeCharset(Buffer.concat(chunks), charset || "utf-8") });
  }
  return out;
}

/** Parses a Content-Type value; null when it has no valid type/subtype (RFC 2045 §5.2 then applies). */
export function parseMediaType(text: string): MediaType | null {
  const cursor = new Cursor(text);
  cursor.skipCfws();
  const type = cursor.token();
  cursor.skipCfws();
  if (type === "" || cursor.peek() !== "/") return null;
  cursor.pos++;
  cursor.skipCfws();
  const subtype = cursor.token();
  if (subtype === "") return null;
  return { type, subtype, params: combineParameters(rawParameters(cursor)) };
}

/** Parses a Content-Disposition value (RFC 2183); null when the type is missing. */
export function parseDisposition(text: string): Disposition | null {
  const cursor = new Cursor(text);
  cursor.skipCfws();
  const type = cursor.token();
  if (type === "") return null;
  return { type, params: combineParameters(rawParameters(cursor)) };
}

/** Content-Language (RFC 3282): a comma list of language tags, comments removed. */
export function parseLanguages(text: string): string[] {
  return text
    .replace(/\([^)]*\)/g, "")
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
}

export function parameter(params: readonly MimeParameter[], name: string): string | undefined {
  const key = name.toLowerCase();
  return params.find((p) => p.name.toLowerCase() === key)?.value;
}
