/** A position in a script: 1-based line and column (in characters). */
export interface Position {
  line: number;
  column: number;
}

export type SieveErrorKind = "syntax" | "validation" | "runtime" | "limit";

/**
 * Every failure of the engine: a syntax or validation error shown by `check` and CHECKSCRIPT, or a runtime
 * error the caller answers with an implicit keep (RFC 5228 §2.10.6). The message starts with
 * "line:column:" when the error has a place in the script.
 */
export class SieveError extends Error {
  readonly kind: SieveErrorKind;
  readonly position: Position | null;
  /** The message without the position prefix. */
  readonly reason: string;
  /** The script the error is in, for errors raised while running an included script (RFC 6609). */
  readonly script: string | null;

  constructor(kind: SieveErrorKind, reason: string, position: Position | null, script: string | null = null) {
    const where = position === null ? "" : `${position.line}:${position.column}: `;
    super(`${script === null ? "" : `${script}: `}${where}${reason}`);
    this.name = "SieveError";
    this.kind = kind;
    this.reason = reason;
    this.position = position;
    this.script = script;
  }
}
