// Pieces of the SCRAM message grammar (RFC 5802 §7) shared by the server and the client.

/** RFC 5802 §5.1: the nonce is printable ASCII except ",". */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** RFC 5802 §7: attr = ALPHA; value = 1*value-char (any UTF-8 except NUL and ","). */
const ATTRIBUTE = /^([A-Za-z])=([^\0,]*)$/s;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface Attribute {
  name: string;
  value: string;
}

/** Splits "a=1,b=2" into attributes; null when any piece is not attr=value. */
export function parseAttributes(text: string): Attribute[] | null {
  const out: Attribute[] = [];
  for (const piece of text.split(",")) {
    const match = ATTRIBUTE.exec(piece);
    if (!match) return null;
    out.push({ name: match[1]!, value: match[2]! });
  }
  return out;
}

export function isValidNonce(nonce: string): boolean {
  return NONCE.test(nonce);
}

/** Strict base64: canonical padding and unused bits zero, no whitespace; null when malformed. */
export function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? bytes : null;
}

/**
 * RFC 5802 §5.1: in a saslname "," and "=" appear as "=2C" and "=3D"; any other "=" is an error.
 * Returns null when the name is empty or badly escaped.
 */
export function decodeSaslName(text: string): string | null {
  if (text === "") return null;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== "=") {
      out += ch;
      continue;
    }
    const escaped = text.slice(i + 1, i + 3);
    if (escaped === "2C") out += ",";
    else if (escaped === "3D") out += "=";
    else return null;
    i += 2;
  }
  return out;
}

export function encodeSaslName(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}
