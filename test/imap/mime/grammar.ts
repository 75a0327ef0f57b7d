/**
 * A recognizer for RFC 9051 §9 `body` and `envelope`, used to check corpus expectations and generated
 * output against the grammar. Strings may be quoted or literals; keywords are case-insensitive.
 */
export class GrammarError extends Error {}

class Reader {
  pos = 0;
  constructor(readonly text: Buffer) {}

  fail(what: string): never {
    const near = this.text.subarray(this.pos, this.pos + 40).toString("latin1");
    throw new GrammarError(`expected ${what} at ${this.pos}: ${JSON.stringify(near)}`);
  }

  peek(): number | undefined {
    return this.text[this.pos];
  }

  char(c: string): void {
    if (this.peek() !== c.charCodeAt(0)) this.fail(JSON.stringify(c));
    this.pos++;
  }

  sp(): void {
    this.char(" ");
  }

  isNil(): boolean {
    return this.text.toString("latin1", this.pos, this.pos + 3).toUpperCase() === "NIL";
  }

  nil(): void {
    if (!this.isNil()) this.fail("NIL");
    this.pos += 3;
  }

  number(): number {
    const start = this.pos;
    while (this.peek() !== undefined && (this.peek() as number) >= 0x30 && (this.peek() as number) <= 0x39) {
      this.pos++;
    }
    if (start === this.pos) this.fail("number");
    return Number(this.text.toString("latin1", start, this.pos));
  }

  /** string = quoted / literal; returns its content. */
  string(): Buffer {
    if (this.peek() === 0x22) {
      this.pos++;
      const out: number[] = [];
      for (;;) {
        const c = this.peek();
        if (c === undefined || c === 0x0d || c === 0x0a) this.fail("closing quote");
        this.pos++;
        if (c === 0x22) return Buffer.from(out);
        if (c === 0x5c) {
          const e = this.peek();
          if (e !== 0x22 && e !== 0x5c) this.fail("quoted-special after backslash");
          out.push(e);
          this.pos++;
        } else {
          out.push(c);
        }
      }
    }
    if (this.peek() === 0x7b) {
      this.pos++;
      const n = this.number();
      this.char("}");
      this.char("\r");
      this.char("\n");
      if (this.pos + n > this.text.length) this.fail("literal octets");
      const out = this.text.subarray(this.pos, this.pos + n);
      this.pos += n;
      return out;
    }
    return this.fail("string");
  }

  nstring(): Buffer | null {
    if (this.isNil()) {
      this.nil();
      return null;
    }
    return this.string();
  }

  done(): void {
    if (this.pos !== this.text.length) this.fail("end of input");
  }
}

function address(r: Reader): void {
  r.char("(");
  r.nstring();
  r.sp();
  r.nstring();
  r.sp();
  r.nstring();
  r.sp();
  r.nstring();
  r.char(")");
}

function addressList(r: Reader): void {
  if (r.isNil()) {
    r.nil();
    return;
  }
  r.char("(");
  address(r);
  while (r.peek() === 0x28) address(r);
  r.char(")");
}

export function envelope(r: Reader): void {
  r.char("(");
  r.nstring(); // date
  r.sp();
  r.nstring(); // subject
  for (let i = 0; i < 6; i++) {
    r.sp();
    addressList(r);
  }
  r.sp();
  r.nstring(); // in-reply-to
  r.sp();
  r.nstring(); // message-id
  r.char(")");
}

function params(r: Reader): void {
  if (r.isNil()) {
    r.nil();
    return;
  }
  r.char("(");
  r.string();
  r.sp();
  r.string();
  while (r.peek() === 0x20) {
    r.sp();
    r.string();
    r.sp();
    r.string();
  }
  r.char(")");
}

function disposition(r: Reader): void {
  if (r.isNil()) {
    r.nil();
    return;
  }
  r.char("(");
  r.string();
  r.sp();
  params(r);
  r.char(")");
}

function language(r: Reader): void {
  if (r.peek() !== 0x28) {
    r.nstring();
    return;
  }
  r.char("(");
  r.string();
  while (r.peek() === 0x20) {
    r.sp();
    r.string();
  }
  r.char(")");
}

/** dsp, lang, loc: each optional only together with what follows it (RFC 9051 body-ext-1part). */
function extensionTail(r: Reader): void {
  if (r.peek() !== 0x20) return;
  r.sp();
  disposition(r);
  if (r.peek() !== 0x20) return;
  r.sp();
  language(r);
  if (r.peek() !== 0x20) return;
  r.sp();
  r.nstring();
}

function body(r: Reader): void {
  r.char("(");
  if (r.peek() === 0x28) {
    body(r);
    while (r.peek() === 0x28) body(r);
    r.sp();
    r.string(); // media-subtype
    if (r.peek() === 0x20) {
      r.sp();
      params(r);
      extensionTail(r);
    }
  } else {
    const type = r.string().toString("latin1").toLowerCase();
    r.sp();
    const subtype = r.string().toString("latin1").toLowerCase();
    r.sp();
    params(r);
    r.sp();
    r.nstring(); // id
    r.sp();
    r.nstring(); // description
    r.sp();
    r.string(); // encoding
    r.sp();
    r.number(); // octets
    if (type === "message" && (subtype === "rfc822" || subtype === "global")) {
      r.sp();
      envelope(r);
      r.sp();
      body(r);
      r.sp();
      r.number();
    } else if (type === "text") {
      r.sp();
      r.number();
    }
    if (r.peek() === 0x20) {
      r.sp();
      r.nstring(); // md5
      extensionTail(r);
    }
  }
  r.char(")");
}

export function checkBody(text: Buffer): void {
  const r = new Reader(text);
  body(r);
  r.done();
}

export function checkEnvelope(text: Buffer): void {
  const r = new Reader(text);
  envelope(r);
  r.done();
}
