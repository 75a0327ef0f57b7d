// A JMAP Email (RFC 8621 §4.1) read from a message's bytes: whatever Email/get and Email/parse answer
// from the message itself. Sans-IO: the store supplies the bytes and decides the ids of part blobs.
// Every piece is worked out on first use, so a listing that asks for subject and from never decodes a body.

import {
  allParts,
  type BodyPart,
  bodyTree,
  type DecodedContent,
  decodedContent,
  type FlatBody,
  flattenBody,
  lfLineEnds,
  type PartText,
  partCharacters,
  preview,
  truncateValue,
} from "../../mail/body.js";
import { type HeaderField, scanHeader } from "../../mail/mime/header.js";
import { type MessagePart, parseMessageStructure } from "../../mail/mime/structure.js";
import { invalidArguments } from "../errors.js";
import type { Json, JsonObject } from "../types.js";
import {
  type EmailHeader,
  emailHeaders,
  type HeaderProperty,
  headerPropertyValue,
  parseHeaderProperty,
} from "./header-forms.js";

/** RFC 8621 §4.2: the EmailBodyPart properties returned when the client names none. */
export const DEFAULT_BODY_PROPERTIES: readonly string[] = [
  "partId",
  "blobId",
  "size",
  "name",
  "type",
  "charset",
  "disposition",
  "cid",
  "language",
  "location",
];

/** The EmailBodyPart properties of RFC 8621 §4.1.4, besides "header:…" ones. */
export const BODY_PART_PROPERTIES: ReadonlySet<string> = new Set([
  ...DEFAULT_BODY_PROPERTIES,
  "headers",
  "subParts",
]);

/** The Email properties of RFC 8621 §4.1, besides "header:…" ones; the first seven come from the store. */
export const EMAIL_PROPERTIES: ReadonlySet<string> = new Set([
  "id",
  "blobId",
  "threadId",
  "mailboxIds",
  "keywords",
  "size",
  "receivedAt",
  "messageId",
  "inReplyTo",
  "references",
  "sender",
  "from",
  "to",
  "cc",
  "bcc",
  "replyTo",
  "subject",
  "sentAt",
  "hasAttachment",
  "preview",
  "bodyValues",
  "textBody",
  "htmlBody",
  "attachments",
  "headers",
  "bodyStructure",
]);

/**
 * Refuses a property list with a name outside `known` or a malformed or inapplicable "header:" property
 * (RFC 8621 §4.1.2: such a form MUST be rejected with invalidArguments).
 */
export function checkProperties(properties: readonly string[], known: ReadonlySet<string>): void {
  for (const property of properties) {
    if (property.startsWith("header:")) {
      const parsed = parseHeaderProperty(property);
      if (!parsed.ok) throw invalidArguments(parsed.reason);
    } else if (!known.has(property)) {
      throw invalidArguments(`unknown property ${property}`);
    }
  }
}

function header(name: string, form: HeaderProperty["form"]): HeaderProperty {
  return { name, key: name.toLowerCase(), form, all: false };
}

/** The convenience properties of RFC 8621 §4.1.2 and the header form each one is. */
const CONVENIENCE: ReadonlyMap<string, HeaderProperty> = new Map([
  ["messageId", header("Message-ID", "MessageIds")],
  ["inReplyTo", header("In-Reply-To", "MessageIds")],
  ["references", header("References", "MessageIds")],
  ["sender", header("Sender", "Addresses")],
  ["from", header("From", "Addresses")],
  ["to", header("To", "Addresses")],
  ["cc", header("Cc", "Addresses")],
  ["bcc", header("Bcc", "Addresses")],
  ["replyTo", header("Reply-To", "Addresses")],
  ["subject", header("Subject", "Text")],
  ["sentAt", header("Date", "Date")],
]);

/** The Email properties the header section alone determines (besides "header:…" ones). */
export const HEADER_PROPERTIES: ReadonlySet<string> = new Set([...CONVENIENCE.keys(), "headers"]);

export type EmailBodyValue = { value: string; isEncodingProblem: boolean; isTruncated: boolean };

/** The body arguments of Email/get and Email/parse (RFC 8621 §4.2, §4.9). */
export interface BodyArguments {
  bodyProperties?: readonly string[];
  fetchTextBodyValues?: boolean;
  fetchHTMLBodyValues?: boolean;
  fetchAllBodyValues?: boolean;
  /** 0 or absent: no truncation. */
  maxBodyValueBytes?: number;
}

export interface EmailOptions {
  /** The blobId of a non-multipart part; the caller decides (and serves /download for it). */
  partBlobId(partId: string): string;
}

function headerValue(bytes: Buffer, fields: readonly HeaderField[], property: string): Json {
  const parsed = parseHeaderProperty(property);
  if (!parsed.ok) throw invalidArguments(parsed.reason);
  return headerPropertyValue(bytes, fields, parsed.header);
}

function isText(part: BodyPart): boolean {
  return part.partId !== null && part.type.startsWith("text/");
}

export class ParsedEmail {
  #fields: HeaderField[] | undefined;
  #structure: MessagePart | undefined;
  #tree: BodyPart | undefined;
  #flat: FlatBody | undefined;
  #decoded = new Map<BodyPart, DecodedContent>();
  #characters = new Map<BodyPart, PartText>();
  #texts = new Map<BodyPart, PartText>();

  constructor(
    readonly bytes: Buffer,
    private readonly options: EmailOptions,
  ) {}

  get #headerFields(): HeaderField[] {
    // The top-level header alone is enough for header properties: no MIME parse for them.
    this.#fields ??= this.#structure?.fields ?? scanHeader(this.bytes, 0, this.bytes.length).fields;
    return this.#fields;
  }

  get #root(): BodyPart {
    this.#structure ??= parseMessageStructure(this.bytes);
    this.#tree ??= bodyTree(this.#structure);
    return this.#tree;
  }

  get #body(): FlatBody {
    this.#flat ??= flattenBody(this.#root);
    return this.#flat;
  }

  #content(part: BodyPart): DecodedContent {
    let content = this.#decoded.get(part);
    if (content === undefined) {
      content = decodedContent(this.bytes, part);
      this.#decoded.set(part, content);
    }
    return content;
  }

  #partCharacters(part: BodyPart): PartText {
    let characters = this.#characters.get(part);
    if (characters === undefined) {
      characters = partCharacters(this.#content(part), part);
      this.#characters.set(part, characters);
    }
    return characters;
  }

  #text(part: BodyPart): PartText {
    let text = this.#texts.get(part);
    if (text === undefined) {
      text = lfLineEnds(this.#partCharacters(part));
      this.#texts.set(part, text);
    }
    return text;
  }

  /** A "header:…" property of the message; throws invalidArguments for one checkProperties refuses. */
  header(property: string): Json {
    return headerValue(this.bytes, this.#headerFields, property);
  }

  /** Every header field of the message in order, values in Raw form. */
  get headers(): EmailHeader[] {
    return emailHeaders(this.bytes, this.#headerFields);
  }

  bodyStructure(bodyProperties: readonly string[] = DEFAULT_BODY_PROPERTIES): JsonObject {
    return this.#partJson(this.#root, bodyProperties, true);
  }

  textBody(bodyProperties: readonly string[] = DEFAULT_BODY_PROPERTIES): JsonObject[] {
    return this.#body.textBody.map((part) => this.#partJson(part, bodyProperties, false));
  }

  htmlBody(bodyProperties: readonly string[] = DEFAULT_BODY_PROPERTIES): JsonObject[] {
    return this.#body.htmlBody.map((part) => this.#partJson(part, bodyProperties, false));
  }

  attachments(bodyProperties: readonly string[] = DEFAULT_BODY_PROPERTIES): JsonObject[] {
    return this.#body.attachments.map((part) => this.#partJson(part, bodyProperties, false));
  }

  /**
   * RFC 8621 §4.1.4: an attachment a client should offer for download. Parts marked inline, and images
   * an HTML body refers to by "cid:" (the MAY of that section), do not count.
   */
  get hasAttachment(): boolean {
    const candidates = this.#body.attachments.filter((part) => part.disposition !== "inline");
    if (candidates.every((part) => part.cid === null)) return candidates.length > 0;
    const referenced = this.#referencedCids();
    return candidates.some((part) => part.cid === null || !referenced.has(part.cid));
  }

  #referencedCids(): Set<string> {
    const cids = new Set<string>();
    for (const part of this.#body.htmlBody) {
      if (part.type !== "text/html") continue;
      for (const m of this.#text(part).text.matchAll(/\bcid:([^"'\s)>]+)/gi)) {
        // RFC 2392 §2: a cid URL is the Content-ID, %-encoded.
        const url = m[1] ?? "";
        try {
          cids.add(decodeURIComponent(url));
        } catch {
          cids.add(url);
        }
      }
    }
    return cids;
  }

  get preview(): string {
    return preview(this.#body.textBody, (part) => this.#partCharacters(part).text);
  }

  /**
   * bodyValues (RFC 8621 §4.2): the text/* parts of textBody, htmlBody or the whole tree, as the fetch
   * arguments ask, each truncated to maxBodyValueBytes.
   */
  bodyValues(args: BodyArguments = {}): Record<string, EmailBodyValue> {
    const parts = new Set<BodyPart>();
    if (args.fetchAllBodyValues) {
      for (const part of allParts(this.#root)) if (isText(part)) parts.add(part);
    } else {
      if (args.fetchTextBodyValues) for (const part of this.#body.textBody) if (isText(part)) parts.add(part);
      if (args.fetchHTMLBodyValues) for (const part of this.#body.htmlBody) if (isText(part)) parts.add(part);
    }
    const values: Record<string, EmailBodyValue> = {};
    for (const part of parts) {
      const { text, problem } = this.#text(part);
      const cut = truncateValue(text, args.maxBodyValueBytes ?? 0, part.type === "text/html");
      values[part.partId ?? ""] = {
        value: cut.value,
        isEncodingProblem: problem,
        isTruncated: cut.isTruncated,
      };
    }
    return values;
  }

  /**
   * The decoded content of a non-multipart part (for /download of its blob, and Email/parse of an
   * attached message); null when no such part exists.
   */
  partBytes(partId: string): Buffer | null {
    const part = this.#part(partId);
    return part === undefined ? null : this.#content(part).bytes;
  }

  /** The media type of a non-multipart part; null when no such part exists. */
  partType(partId: string): string | null {
    return this.#part(partId)?.type ?? null;
  }

  #part(partId: string): BodyPart | undefined {
    return allParts(this.#root).find((p) => p.partId === partId);
  }

  /**
   * The named Email properties that the message's bytes determine ("size" is their length); the
   * store's own properties (id, blobId, threadId, mailboxIds, keywords, receivedAt) are left to the caller.
   */
  properties(names: readonly string[], args: BodyArguments = {}): JsonObject {
    const out: JsonObject = {};
    const bodyProperties = args.bodyProperties ?? DEFAULT_BODY_PROPERTIES;
    for (const name of names) {
      const convenience = CONVENIENCE.get(name);
      if (convenience !== undefined) {
        out[name] = headerPropertyValue(this.bytes, this.#headerFields, convenience);
      } else if (name.startsWith("header:")) {
        out[name] = this.header(name);
      } else {
        const value = this.#bodyProperty(name, args, bodyProperties);
        if (value !== undefined) out[name] = value;
      }
    }
    return out;
  }

  #bodyProperty(name: string, args: BodyArguments, bodyProperties: readonly string[]): Json | undefined {
    switch (name) {
      case "size":
        return this.bytes.length;
      case "headers":
        return this.headers;
      case "bodyStructure":
        return this.bodyStructure(bodyProperties);
      case "textBody":
        return this.textBody(bodyProperties);
      case "htmlBody":
        return this.htmlBody(bodyProperties);
      case "attachments":
        return this.attachments(bodyProperties);
      case "hasAttachment":
        return this.hasAttachment;
      case "preview":
        return this.preview;
      case "bodyValues":
        return this.bodyValues(args);
      default:
        return undefined;
    }
  }

  #partJson(part: BodyPart, properties: readonly string[], tree: boolean): JsonObject {
    const out: JsonObject = {};
    for (const property of properties) {
      const value = this.#partProperty(part, property, properties, tree);
      if (value !== undefined) out[property] = value;
    }
    // In bodyStructure the tree is the point: subParts come with every part, asked for or not.
    if (tree && !("subParts" in out))
      out.subParts = this.#partProperty(part, "subParts", properties, tree) ?? null;
    return out;
  }

  #partProperty(
    part: BodyPart,
    property: string,
    properties: readonly string[],
    tree: boolean,
  ): Json | undefined {
    const mime = part.mime;
    switch (property) {
      case "partId":
        return part.partId;
      case "blobId":
        return part.partId === null ? null : this.options.partBlobId(part.partId);
      case "size":
        // RFC 8621 §4.1.4: the size after transfer decoding; a multipart has no blob, so its raw size.
        return part.partId === null ? mime.size : this.#content(part).bytes.length;
      case "headers":
        return emailHeaders(this.bytes, mime.fields);
      case "name":
        return part.name;
      case "type":
        return part.type;
      case "charset":
        return part.charset;
      case "disposition":
        return part.disposition;
      case "cid":
        return part.cid;
      case "language":
        return mime.language;
      case "location":
        return mime.location;
      case "subParts":
        return part.partId === null
          ? part.subParts.map((sub) => this.#partJson(sub, properties, tree))
          : null;
      default:
        return property.startsWith("header:") ? headerValue(this.bytes, mime.fields, property) : undefined;
    }
  }
}

/** Reads any message's bytes (a stored message, or an attached message/rfc822 for Email/parse). */
export function parseEmail(bytes: Buffer, options: EmailOptions): ParsedEmail {
  return new ParsedEmail(bytes, options);
}
