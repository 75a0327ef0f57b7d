// One ManageSieve connection (RFC 5804), sans IO: parsed lines in (parser.ts), responses out. States:
// not authenticated (CAPABILITY, STARTTLS, AUTHENTICATE, NOOP, LOGOUT), a SASL exchange in progress, and
// authenticated, where the user's scripts are read and written through the store's `sieveScripts` part
// — the one `mailroom sieve` and delivery use — and checked by the Sieve engine before they are kept.

import type { Logger } from "pino";
import { type AuthPolicy, authRefusal } from "../auth/policy.js";
import { decodeBase64 } from "../auth/sasl/scram-messages.js";
import type { AuthContext, AuthenticatedUser, Authenticator, SaslExchange, SaslStep } from "../auth/types.js";
import type { CommandResult } from "../net/command-connection.js";
import { CAPABILITIES, DEFAULT_LIMITS } from "../sieve/index.js";
import { type ScriptRefusal, ScriptService } from "../sieve-scripts/service.js";
import { isScriptName, MAX_SCRIPT_NAME } from "../store/sieve-scripts.js";
import type { Store } from "../store/types.js";
import { encodeString, type Item, type Token } from "./parser.js";

export type ManageSieveStore = Pick<Store, "sieveScripts">;

export interface ManageSieveResult extends CommandResult {
  output: Array<string | Buffer>;
}

export interface ManageSieveLimits {
  maxScriptSize: number;
  maxScripts: number;
  /** Commands answered NO in a row before the connection is closed with BYE. */
  maxErrors: number;
}

export interface ManageSieveSessionOptions {
  store: ManageSieveStore;
  authenticator: Authenticator;
  authPolicy: AuthPolicy;
  remoteAddress: string;
  /** TLS already in force (an implicit-TLS listener). */
  secure: boolean;
  /** STARTTLS can be offered: the listener is plain and a certificate is configured. */
  tlsAvailable: boolean;
  limits: ManageSieveLimits;
  logger?: Logger;
}

export type ManageSieveState = "unauthenticated" | "authenticated" | "closed";

const decoder = new TextDecoder("utf-8", { fatal: true });

function utf8(value: Buffer): string | null {
  try {
    return decoder.decode(value);
  } catch {
    return null;
  }
}

/** A response line: OK, NO or BYE, an optional response code (RFC 5804 §1.3) and human text. */
function response(kind: "OK" | "NO" | "BYE", text: string, code?: string): string | Buffer {
  const encoded = encodeString(text);
  const head = `${kind}${code === undefined ? "" : ` (${code})`} `;
  return typeof encoded === "string"
    ? `${head}${encoded}\r\n`
    : Buffer.concat([Buffer.from(head), encoded, Buffer.from("\r\n")]);
}

const FAILURE_TEXT: Record<Exclude<SaslStep, { kind: "challenge" | "success" }>["reason"], string> = {
  malformed: "The SASL response was malformed; start AUTHENTICATE again",
  "bad-credentials": "Authentication failed: wrong user name or password",
  throttled: "Too many failed logins from this address; try again later",
  unavailable: "Authentication is unavailable right now; try again later",
};

export class ManageSieveSession {
  private stateValue: ManageSieveState = "unauthenticated";
  private user: AuthenticatedUser | null = null;

  get authenticated(): boolean {
    return this.user !== null;
  }
  private secure: boolean;
  private sasl: SaslExchange | null = null;
  private errors = 0;

  private readonly scripts: ScriptService;

  constructor(private readonly options: ManageSieveSessionOptions) {
    this.secure = options.secure;
    this.scripts = new ScriptService(options.store, options.limits);
  }

  get state(): ManageSieveState {
    return this.stateValue;
  }

  /** RFC 5804 §1.7: the server greets with its capabilities, then OK. */
  greeting(): ManageSieveResult {
    return this.reply(...this.capabilities(), response("OK", "mailroom ManageSieve ready"));
  }

  /** RFC 5804 §2.2: after the TLS handshake the server sends its capabilities again, unasked. */
  tlsStarted(): ManageSieveResult {
    this.secure = true;
    this.sasl = null;
    return this.greetingAfterTls();
  }

  close(): void {
    this.stateValue = "closed";
    this.sasl = null;
  }

  async handle(item: Item): Promise<ManageSieveResult> {
    if (this.stateValue === "closed") return { output: [], action: "close" };
    if (this.sasl !== null) return this.saslResponse(item);
    if (item.kind === "error") {
      return this.fail(item.reason, item.tooBig ? "QUOTA/MAXSIZE" : undefined);
    }
    const [first, ...args] = item.tokens;
    if (first?.kind !== "atom") return this.fail("a command starts with its name, such as CAPABILITY");
    const name = first.value.toUpperCase();
    try {
      return await this.command(name, args);
    } catch (error) {
      this.options.logger?.error({ err: error, command: name }, "managesieve command failed");
      return this.fail("Temporary failure on the server; try again later", "TRYLATER");
    }
  }

  private async command(name: string, args: Token[]): Promise<ManageSieveResult> {
    switch (name) {
      case "CAPABILITY":
        return this.noArguments(args, () =>
          this.reply(...this.capabilities(), response("OK", "Capability completed")),
        );
      case "NOOP":
        return this.noop(args);
      case "LOGOUT":
        return this.noArguments(args, () => {
          this.close();
          return { output: [response("OK", "Logout completed")], action: "close" };
        });
      case "STARTTLS":
        return this.noArguments(args, () => this.startTls());
      case "AUTHENTICATE":
        return this.authenticate(args);
    }
    const user = this.user;
    if (user === null) {
      if (AUTHENTICATED_COMMANDS.has(name)) return this.fail(`${name} is only valid after AUTHENTICATE`);
      return this.fail(`unknown command ${name.slice(0, 40)}; see CAPABILITY`);
    }
    switch (name) {
      case "UNAUTHENTICATE":
        return this.noArguments(args, () => {
          // RFC 5804 §2.14.1: back to the state before AUTHENTICATE; a TLS layer stays.
          this.user = null;
          this.stateValue = "unauthenticated";
          return this.reply(response("OK", "Unauthenticated"));
        });
      case "HAVESPACE":
        return this.haveSpace(user, args);
      case "PUTSCRIPT":
        return this.putScript(user, args);
      case "CHECKSCRIPT":
        return this.checkScript(args);
      case "LISTSCRIPTS":
        return this.noArguments(args, () => this.listScripts(user));
      case "SETACTIVE":
        return this.setActive(user, args);
      case "GETSCRIPT":
        return this.getScript(user, args);
      case "DELETESCRIPT":
        return this.deleteScript(user, args);
      case "RENAMESCRIPT":
        return this.renameScript(user, args);
      default:
        return this.fail(`unknown command ${name.slice(0, 40)}; see CAPABILITY`);
    }
  }

  // ----- capabilities, TLS, authentication -----

  private get authContext(): AuthContext {
    return {
      remoteAddress: this.options.remoteAddress,
      secure: this.secure,
      policy: this.options.authPolicy,
    };
  }

  private capabilities(): Array<string | Buffer> {
    const line = (name: string, value?: string) =>
      `${encodeString(name) as string}${value === undefined ? "" : ` ${encodeString(value) as string}`}\r\n`;
    const mechanisms = this.user === null ? this.options.authenticator.mechanisms(this.authContext) : [];
    const lines = [
      line("IMPLEMENTATION", "mailroom"),
      line("SASL", mechanisms.join(" ")),
      line("SIEVE", CAPABILITIES.join(" ")),
      line("MAXREDIRECTS", String(DEFAULT_LIMITS.maxRedirects)),
      line("VERSION", "1.0"),
      line("UNAUTHENTICATE"),
    ];
    if (this.user === null && !this.secure && this.options.tlsAvailable) lines.push(line("STARTTLS"));
    if (this.user !== null) lines.push(line("OWNER", this.user.address));
    return lines;
  }

  private greetingAfterTls(): ManageSieveResult {
    return this.reply(...this.capabilities(), response("OK", "TLS negotiation successful"));
  }

  private startTls(): ManageSieveResult {
    if (this.secure) return this.fail("TLS is already active on this connection");
    if (this.user !== null) return this.fail("STARTTLS is only valid before AUTHENTICATE");
    if (!this.options.tlsAvailable) return this.fail("STARTTLS is not available on this server");
    return { output: [response("OK", "Begin TLS negotiation now")], action: "starttls" };
  }

  private async authenticate(args: Token[]): Promise<ManageSieveResult> {
    if (this.user !== null) return this.fail("already authenticated; UNAUTHENTICATE first");
    const [mechanismToken, initialToken, ...extra] = args;
    const mechanism = mechanismToken === undefined ? null : stringValue(mechanismToken);
    if (
      mechanism === null ||
      extra.length > 0 ||
      (initialToken !== undefined && initialToken.kind !== "string")
    ) {
      return this.fail('usage: AUTHENTICATE "MECHANISM" ["initial response in base64"]');
    }
    const refusal = authRefusal(this.authContext);
    if (refusal === "needs-tls") {
      return this.fail("Authentication needs TLS here: send STARTTLS first", "ENCRYPT-NEEDED");
    }
    if (refusal === "disabled") return this.fail("Authentication is turned off on this listener");
    let initial: Buffer | null = null;
    if (initialToken !== undefined) {
      initial = decodeBase64(initialToken.value.toString("latin1"));
      if (initial === null) return this.fail(FAILURE_TEXT.malformed);
    }
    const exchange = this.options.authenticator.begin(mechanism.toUpperCase(), this.authContext);
    if (exchange === null) {
      return this.fail(`SASL mechanism ${mechanism.slice(0, 40)} is not supported; see CAPABILITY`);
    }
    this.sasl = exchange;
    return this.afterStep(await exchange.start(initial));
  }

  /** RFC 5804 §2.1: each response is a string on its own line; "*" cancels. */
  private async saslResponse(item: Item): Promise<ManageSieveResult> {
    const exchange = this.sasl;
    this.sasl = null;
    if (exchange === null || item.kind === "error" || item.tokens.length !== 1) {
      return this.fail(FAILURE_TEXT.malformed);
    }
    const token = item.tokens[0]!;
    if (token.kind !== "string") return this.fail(FAILURE_TEXT.malformed);
    const text = token.value.toString("latin1");
    if (text === "*") return this.fail("Authentication cancelled");
    const decoded = decodeBase64(text);
    if (decoded === null) return this.fail(FAILURE_TEXT.malformed);
    this.sasl = exchange;
    return this.afterStep(await exchange.next(decoded));
  }

  private afterStep(step: SaslStep): ManageSieveResult {
    switch (step.kind) {
      case "challenge":
        return this.reply(`${encodeString(step.data.toString("base64")) as string}\r\n`);
      case "success": {
        this.sasl = null;
        this.user = step.user;
        this.stateValue = "authenticated";
        this.errors = 0;
        this.options.logger?.info(
          { remoteAddress: this.options.remoteAddress, user: step.user.address, secure: this.secure },
          "managesieve login",
        );
        // RFC 5804 §2.1: additional data with success goes in the OK's SASL response code.
        const code =
          step.data !== undefined && step.data.length > 0
            ? `SASL ${encodeString(step.data.toString("base64")) as string}`
            : undefined;
        return this.reply(response("OK", "Authenticated", code));
      }
      case "failure":
        this.sasl = null;
        this.options.logger?.info(
          { remoteAddress: this.options.remoteAddress, reason: step.reason },
          "managesieve login failed",
        );
        return this.fail(FAILURE_TEXT[step.reason], step.reason === "unavailable" ? "TRYLATER" : undefined);
    }
  }

  // ----- scripts -----

  private async haveSpace(user: AuthenticatedUser, args: Token[]): Promise<ManageSieveResult> {
    const [nameToken, sizeToken, ...extra] = args;
    const name = nameToken === undefined ? null : scriptName(nameToken);
    const size =
      sizeToken?.kind === "atom" && /^\d{1,15}$/.test(sizeToken.value) ? Number(sizeToken.value) : null;
    if (name === null || size === null || extra.length > 0) {
      return this.fail(
        `usage: HAVESPACE "name" size (a name is 1 to ${MAX_SCRIPT_NAME} octets, no controls)`,
      );
    }
    const full = await this.scripts.room(user.userId, name, size);
    return full === null
      ? this.reply(response("OK", "Putting the script would succeed"))
      : this.refused(full);
  }

  /** A refusal of the shared script rules (sieve-scripts/service.ts) as a NO with its response code. */
  private refused(refusal: ScriptRefusal): ManageSieveResult {
    switch (refusal.kind) {
      case "too-large":
        return this.fail(`A script may be at most ${refusal.limit} octets on this server`, "QUOTA/MAXSIZE");
      case "too-many":
        return this.fail(
          `You already have ${refusal.limit} scripts, this server's limit; delete one first`,
          "QUOTA/MAXSCRIPTS",
        );
      case "not-utf8":
        return this.fail("The script is not valid UTF-8 (RFC 5804 §1.6)");
      case "invalid":
        return this.fail(refusal.errors.map((error) => error.message).join("\r\n"));
      case "bad-name":
        return this.fail(`a script name is 1 to ${MAX_SCRIPT_NAME} octets, no controls`);
      case "exists":
        return this.fail("A script by that name already exists", "ALREADYEXISTS");
      case "not-found":
        return this.fail("There is no script by that name", "NONEXISTENT");
    }
  }

  private async putScript(user: AuthenticatedUser, args: Token[]): Promise<ManageSieveResult> {
    const [nameToken, scriptToken, ...extra] = args;
    const name = nameToken === undefined ? null : scriptName(nameToken);
    if (name === null || extra.length > 0) {
      return this.fail(`usage: PUTSCRIPT "name" {size+} script (a name is 1 to ${MAX_SCRIPT_NAME} octets)`);
    }
    if (scriptToken?.kind !== "string") return this.fail("the script must be a string or literal");
    const refusal = await this.scripts.put(user.userId, name, scriptToken.value);
    return refusal === null ? this.reply(response("OK", "Script stored")) : this.refused(refusal);
  }

  private checkScript(args: Token[]): ManageSieveResult {
    const [token] = args;
    if (args.length !== 1) return this.fail("usage: CHECKSCRIPT {size+} script");
    if (token?.kind !== "string") return this.fail("the script must be a string or literal");
    const checked = this.scripts.checkSource(token.value);
    return "source" in checked ? this.reply(response("OK", "The script is valid")) : this.refused(checked);
  }

  private async listScripts(user: AuthenticatedUser): Promise<ManageSieveResult> {
    const scripts = await this.options.store.sieveScripts.listScripts(user.userId);
    const lines = scripts.map((script) => {
      const name = encodeString(script.name);
      const tail = script.active ? " ACTIVE\r\n" : "\r\n";
      return typeof name === "string" ? `${name}${tail}` : Buffer.concat([name, Buffer.from(tail)]);
    });
    return this.reply(...lines, response("OK", "Listscripts completed"));
  }

  private async setActive(user: AuthenticatedUser, args: Token[]): Promise<ManageSieveResult> {
    const [token, ...extra] = args;
    const raw = token === undefined ? null : stringValue(token);
    if (raw === null || extra.length > 0 || token?.kind !== "string") {
      return this.fail('usage: SETACTIVE "name" (or "" to deactivate)');
    }
    // RFC 5804 §2.8: the empty name deactivates every script.
    if (raw === "") {
      await this.options.store.sieveScripts.activateScript(user.userId, null);
      return this.reply(response("OK", "No script is active now"));
    }
    if (!(await this.options.store.sieveScripts.activateScript(user.userId, raw))) {
      return this.fail("There is no script by that name", "NONEXISTENT");
    }
    return this.reply(response("OK", "Script activated"));
  }

  private async getScript(user: AuthenticatedUser, args: Token[]): Promise<ManageSieveResult> {
    const [token, ...extra] = args;
    const name = token === undefined ? null : scriptName(token);
    if (name === null || extra.length > 0) return this.fail('usage: GETSCRIPT "name"');
    const script = await this.options.store.sieveScripts.getScript(user.userId, name);
    if (script === undefined) return this.fail("There is no script by that name", "NONEXISTENT");
    const bytes = Buffer.from(script.source, "utf8");
    return this.reply(
      Buffer.concat([Buffer.from(`{${bytes.length}}\r\n`), bytes, Buffer.from("\r\n")]),
      response("OK", "Getscript completed"),
    );
  }

  private async deleteScript(user: AuthenticatedUser, args: Token[]): Promise<ManageSieveResult> {
    const [token, ...extra] = args;
    const name = token === undefined ? null : scriptName(token);
    if (name === null || extra.length > 0) return this.fail('usage: DELETESCRIPT "name"');
    const scripts = this.options.store.sieveScripts;
    const script = await scripts.getScript(user.userId, name);
    if (script === undefined) return this.fail("There is no script by that name", "NONEXISTENT");
    // RFC 5804 §2.10: the active script cannot be deleted; deactivate it with SETACTIVE "" first.
    if (script.active) return this.fail('The active script cannot be deleted; SETACTIVE "" first', "ACTIVE");
    await scripts.deleteScript(user.userId, name);
    return this.reply(response("OK", "Script deleted"));
  }

  private async renameScript(user: AuthenticatedUser, args: Token[]): Promise<ManageSieveResult> {
    const [fromToken, toToken, ...extra] = args;
    const from = fromToken === undefined ? null : scriptName(fromToken);
    const to = toToken === undefined ? null : scriptName(toToken);
    if (from === null || to === null || extra.length > 0) {
      return this.fail(`usage: RENAMESCRIPT "old name" "new name" (1 to ${MAX_SCRIPT_NAME} octets each)`);
    }
    switch (await this.options.store.sieveScripts.renameScript(user.userId, from, to)) {
      case "renamed":
        return this.reply(response("OK", "Script renamed"));
      case "not-found":
        return this.fail("There is no script by that name", "NONEXISTENT");
      case "exists":
        return this.fail("A script by the new name already exists", "ALREADYEXISTS");
    }
  }

  // ----- replies -----

  private noop(args: Token[]): ManageSieveResult {
    const [tag, ...extra] = args;
    if (extra.length > 0 || (tag !== undefined && tag.kind !== "string"))
      return this.fail('usage: NOOP ["tag"]');
    // RFC 5804 §2.13: the tag comes back in a TAG response code.
    const code = tag === undefined ? undefined : `TAG ${encodeString(tag.value) as string}`;
    return this.reply(response("OK", "Done", code));
  }

  private noArguments(args: Token[], run: () => ManageSieveResult | Promise<ManageSieveResult>) {
    return args.length === 0 ? run() : this.fail("this command takes no arguments");
  }

  private reply(...output: Array<string | Buffer>): ManageSieveResult {
    this.errors = 0;
    return { output, action: "continue" };
  }

  private fail(text: string, code?: string): ManageSieveResult {
    this.errors += 1;
    if (this.errors >= this.options.limits.maxErrors) {
      this.close();
      return {
        output: [response("NO", text, code), response("BYE", "Too many failed commands; closing")],
        action: "close",
      };
    }
    return { output: [response("NO", text, code)], action: "continue" };
  }
}

const AUTHENTICATED_COMMANDS = new Set([
  "UNAUTHENTICATE",
  "HAVESPACE",
  "PUTSCRIPT",
  "CHECKSCRIPT",
  "LISTSCRIPTS",
  "SETACTIVE",
  "GETSCRIPT",
  "DELETESCRIPT",
  "RENAMESCRIPT",
]);

function stringValue(token: Token): string | null {
  return token.kind === "atom" ? token.value : utf8(token.value);
}

/** A script name argument (a string, RFC 5804 §1.6), or null when it is not one. */
function scriptName(token: Token): string | null {
  if (token.kind !== "string") return null;
  const name = utf8(token.value);
  return name !== null && isScriptName(name) ? name : null;
}
