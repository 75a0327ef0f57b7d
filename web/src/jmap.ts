// A small JMAP client (RFC 8620, RFC 8621): the session, method calls, download URLs and push.
// The credentials live in this object only; logging out drops it.

export interface Mailbox {
  id: string;
  name: string;
  role: string | null;
  unreadEmails: number;
  totalEmails: number;
  sortOrder: number;
}

export interface Address {
  name: string | null;
  email: string;
}

export interface EmailSummary {
  id: string;
  blobId: string;
  threadId: string;
  from: Address[] | null;
  subject: string | null;
  preview: string;
  receivedAt: string;
  keywords: Record<string, boolean>;
  mailboxIds: Record<string, boolean>;
}

export interface BodyPart {
  partId: string | null;
  blobId: string | null;
  type: string;
  name: string | null;
  size: number;
}

export interface EmailFull extends EmailSummary {
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  replyTo: Address[] | null;
  sentAt: string | null;
  messageId: string[] | null;
  inReplyTo: string[] | null;
  references: string[] | null;
  htmlBody: BodyPart[];
  textBody: BodyPart[];
  attachments: BodyPart[];
  bodyValues: Record<string, { value: string }>;
  size: number;
}

/** How long a dropped push stream waits before it is opened again. */
const RECONNECT_MS = 3000;

export interface Identity {
  id: string;
  name: string;
  email: string;
  textSignature: string;
  mayDelete: boolean;
}

/** What the upload endpoint answers (RFC 8620 §6.1). */
export interface Uploaded {
  blobId: string;
  type: string;
  size: number;
}

interface Session {
  apiUrl: string;
  downloadUrl: string;
  uploadUrl: string;
  eventSourceUrl: string;
  primaryAccounts: Record<string, string>;
}

const USING = [
  "urn:ietf:params:jmap:core",
  "urn:ietf:params:jmap:mail",
  "urn:ietf:params:jmap:submission",
  "urn:ietf:params:jmap:vacationresponse",
  "urn:ietf:params:jmap:sieve",
];

export class Jmap {
  private constructor(
    private readonly auth: string,
    private readonly session: Session,
  ) {}

  readonly accountId = (): string => this.session.primaryAccounts["urn:ietf:params:jmap:mail"] ?? "";

  static async login(username: string, password: string): Promise<Jmap> {
    const bytes = new TextEncoder().encode(`${username}:${password}`);
    const auth = `Basic ${btoa(String.fromCharCode(...bytes))}`;
    const response = await authorized(auth, "/.well-known/jmap");
    if (response.status === 401) throw new Error("wrong address or password");
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    return new Jmap(auth, (await response.json()) as Session);
  }

  async call(calls: [string, Record<string, unknown>][]): Promise<Record<string, unknown>[]> {
    const accountId = this.accountId();
    const response = await authorized(this.auth, this.session.apiUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        using: USING,
        methodCalls: calls.map(([name, args], i) => [name, { accountId, ...args }, String(i)]),
      }),
    });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const body = (await response.json()) as { methodResponses: [string, Record<string, unknown>][] };
    return body.methodResponses.map(([name, args]) => {
      if (name === "error") throw new Error(`JMAP error: ${String(args.type)}`);
      return args;
    });
  }

  /** Download through the session's template (RFC 8620 §6.2), fetched with our credentials. */
  async download(blobId: string, name: string, type: string): Promise<Blob> {
    const url = this.session.downloadUrl
      .replace("{accountId}", encodeURIComponent(this.accountId()))
      .replace("{blobId}", encodeURIComponent(blobId))
      .replace("{name}", encodeURIComponent(name))
      .replace("{type}", encodeURIComponent(type));
    const response = await authorized(this.auth, url);
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    return response.blob();
  }

  /** Upload through the session's template (RFC 8620 §6.1); the blob id goes into an Email/set. */
  async upload(file: Blob): Promise<Uploaded> {
    const url = this.session.uploadUrl.replace("{accountId}", encodeURIComponent(this.accountId()));
    const response = await authorized(this.auth, url, {
      method: "POST",
      headers: { "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as { detail?: string };
      throw new Error(problem.detail ?? `the server answered ${response.status}`);
    }
    return (await response.json()) as Uploaded;
  }

  /**
   * Push (RFC 8620 §7.3). EventSource cannot send an Authorization header, so the stream is read
   * with fetch instead; each StateChange calls onChange. So does each (re)connection: what changed
   * while no stream was open, between the caller's first read and the stream's start or during a
   * dropped connection, would otherwise never be told. A dropped stream is opened again.
   */
  push(onChange: () => void): () => void {
    const controller = new AbortController();
    const url = this.session.eventSourceUrl
      .replace("{types}", "*")
      .replace("{closeafter}", "no")
      .replace("{ping}", "30");
    const listen = async () => {
      const response = await authorized(this.auth, url, {
        headers: { Accept: "text/event-stream" },
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error(`the server answered ${response.status}`);
      onChange();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        const events = buffer.split("\n\n");
        buffer = events.pop() ?? "";
        if (events.some((event) => /^event: ?state$/m.test(event))) onChange();
      }
    };
    const run = async () => {
      while (!controller.signal.aborted) {
        await listen().catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    };
    run();
    return () => controller.abort();
  }
}

/**
 * A fetch carrying our own Authorization header. Credentials mode "omit" keeps the browser out of it: a
 * 401 with a Basic challenge then comes back to us instead of opening the browser's login dialog (Fetch
 * §4.5, which prompts only when credentials are included), and no cookie is sent.
 */
function authorized(
  auth: string,
  url: string,
  init: RequestInit & { headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(url, { ...init, credentials: "omit", headers: { ...init.headers, Authorization: auth } });
}
