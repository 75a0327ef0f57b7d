// The Authentication-Results field (RFC 8601) this server prepends to mail it received on the MX
// listener, and the removal of forged ones: a field that arrived with the message but names our own
// authserv-id would be believed by our users' clients as if we had written it (RFC 8601 §5).
// Pure: header text in, header text out. Header text is latin1, so every octet survives unchanged.

/** Fields are unfolded to at most this long a line before a fold (RFC 5322 §2.1.1 asks for 78). */
const FOLD_AT = 78;

/**
 * The field, CRLF-terminated: `Authentication-Results: <hostname>;` and one resinfo per method result
 * (e.g. "spf=pass smtp.mailfrom=a@b"), or "none" when no method gave a result (RFC 8601 §2.2).
 */
export function authenticationResultsField(hostname: string, results: readonly string[]): string {
  const rows = results.map((row) => row.replace(/[\r\n]+[ \t]*/g, " ").trim()).filter((row) => row !== "");
  if (rows.length === 0) return `Authentication-Results: ${hostname}; none\r\n`;
  return `Authentication-Results: ${hostname};\r\n${rows.map((row) => fold(row)).join(";\r\n")}\r\n`;
}

/** One resinfo on its own continuation lines, broken at spaces so no line grows past FOLD_AT. */
function fold(row: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of row.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > FOLD_AT) {
      lines.push(line);
      line = `  ${word}`;
    } else {
      line = line === "" ? `  ${word}` : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join("\r\n");
}

/**
 * The authserv-id of an Authentication-Results value (RFC 8601 §2.2: `[CFWS] authserv-id` before the
 * first ";"), lower-cased; null when there is none. Comments are skipped, nested ones too.
 */
export function authservId(value: string): string | null {
  let i = 0;
  const skipCfws = () => {
    for (;;) {
      while (i < value.length && /\s/.test(value[i]!)) i++;
      if (value[i] !== "(") return;
      let depth = 0;
      for (; i < value.length; i++) {
        if (value[i] === "\\") i++;
        else if (value[i] === "(") depth++;
        else if (value[i] === ")" && --depth === 0) {
          i++;
          break;
        }
      }
    }
  };
  skipCfws();
  let id = "";
  if (value[i] === '"') {
    for (i++; i < value.length && value[i] !== '"'; i++) {
      if (value[i] === "\\") i++;
      id += value[i] ?? "";
    }
  } else {
    while (i < value.length && !/[\s;()]/.test(value[i]!)) id += value[i++];
  }
  return id === "" ? null : id.toLowerCase();
}

/**
 * The header section without the Authentication-Results fields that claim `hostname` as their
 * authserv-id (compared case-insensitively, as domain names are). Other fields, and results of other
 * servers, stay exactly as they were. `header` is the section up to and including its empty line.
 */
export function withoutOwnResults(header: string, hostname: string): string {
  const own = hostname.toLowerCase();
  // A field is its first line and the continuation lines (starting with WSP) after it.
  const fields = header.match(/[^\r\n]*(?:\r?\n|$)(?:[ \t][^\r\n]*(?:\r?\n|$))*/g) ?? [];
  return fields
    .filter((field) => {
      const colon = field.indexOf(":");
      if (colon < 0 || field.slice(0, colon).trim().toLowerCase() !== "authentication-results") return true;
      return authservId(field.slice(colon + 1)) !== own;
    })
    .join("");
}
