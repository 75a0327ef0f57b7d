// The identities a user sends as through JMAP (RFC 8621 §6). The store keeps what the user made; which
// addresses a user may send as is the submission rules' to say (src/jmap/identity.ts checks before it
// writes), so this part only checks shape. Destroyed identities stay as tombstones so that
// Identity/changes can report them; the state is the highest change number of the user's identities
// and of the user's display name (users.name_state, moved by the directory's setName), since the default
// identity's name is that display name. Every change publishes an "identities" event for push.

import { StoreError } from "./errors.js";

export interface IdentityAddress {
  name: string | null;
  email: string;
}

export interface IdentityFields {
  name: string;
  email: string;
  replyTo: IdentityAddress[] | null;
  bcc: IdentityAddress[] | null;
  textSignature: string;
  htmlSignature: string;
}

export interface StoredIdentity extends IdentityFields {
  id: number;
}

export interface IdentityChanges {
  state: number;
  created: number[];
  updated: number[];
  destroyed: number[];
  /**
   * The user's display name changed after the state asked about: the default identity, which is no
   * row here but takes its name from the directory (src/jmap/identity.ts), is updated too. Only
   * identities' changes carry it, and only when true.
   */
  nameChanged?: true;
}

export interface IdentityStore {
  /** The user's live identities, oldest first, and the state they are at (0 before any change). */
  list(userId: number): Promise<{ state: number; identities: StoredIdentity[] }>;
  create(userId: number, fields: IdentityFields): Promise<{ state: number; identity: StoredIdentity }>;
  /** Replaces the fields given; `not-found` for an identity the user does not have. */
  update(userId: number, id: number, fields: Partial<IdentityFields>): Promise<{ state: number }>;
  /** `not-found` for an identity the user does not have. */
  destroy(userId: number, id: number): Promise<{ state: number }>;
  /** What changed after `sinceState`; null when that state is in the future. */
  changes(userId: number, sinceState: number): Promise<IdentityChanges | null>;
}

/** Longest name, address or signature kept; JMAP clients send far less. */
export const IDENTITY_TEXT_LIMIT = 64 * 1024;

function checkText(label: string, value: unknown): string {
  if (typeof value !== "string" || value.length > IDENTITY_TEXT_LIMIT)
    throw new StoreError("invalid", `an identity's ${label} must be text of at most ${IDENTITY_TEXT_LIMIT}`);
  return value;
}

function checkAddresses(label: string, value: unknown): IdentityAddress[] | null {
  if (value === null) return null;
  if (
    !Array.isArray(value) ||
    value.some(
      (a) =>
        typeof a !== "object" ||
        a === null ||
        typeof a.email !== "string" ||
        (a.name !== null && typeof a.name !== "string"),
    )
  )
    throw new StoreError("invalid", `an identity's ${label} must be null or a list of {name, email}`);
  return value.map((a: IdentityAddress) => ({ name: a.name, email: a.email }));
}

/** The fields given, checked; shared by every backend so they refuse the same input. */
export function checkIdentityFields(fields: Partial<IdentityFields>): Partial<IdentityFields> {
  const checked: Partial<IdentityFields> = {};
  if (fields.name !== undefined) checked.name = checkText("name", fields.name);
  if (fields.email !== undefined) {
    checked.email = checkText("email", fields.email);
    if (!checked.email.includes("@"))
      throw new StoreError("invalid", "an identity's email must be an address");
  }
  if (fields.replyTo !== undefined) checked.replyTo = checkAddresses("replyTo", fields.replyTo);
  if (fields.bcc !== undefined) checked.bcc = checkAddresses("bcc", fields.bcc);
  if (fields.textSignature !== undefined)
    checked.textSignature = checkText("textSignature", fields.textSignature);
  if (fields.htmlSignature !== undefined)
    checked.htmlSignature = checkText("htmlSignature", fields.htmlSignature);
  return checked;
}

/** The row as both backends keep it: address lists as JSON text. */
export interface IdentityRow {
  id: number | string;
  name: string;
  email: string;
  reply_to: string | null;
  bcc: string | null;
  text_signature: string;
  html_signature: string;
  created_state: number | string;
  state: number | string;
  destroyed: number | boolean;
}

export function toIdentity(row: IdentityRow): StoredIdentity {
  return {
    id: Number(row.id),
    name: row.name,
    email: row.email,
    replyTo: row.reply_to === null ? null : (JSON.parse(row.reply_to) as IdentityAddress[]),
    bcc: row.bcc === null ? null : (JSON.parse(row.bcc) as IdentityAddress[]),
    textSignature: row.text_signature,
    htmlSignature: row.html_signature,
  };
}

/** What changes need of a row kept with tombstones (identities, submissions). */
export type ChangeRow = Pick<IdentityRow, "id" | "created_state" | "destroyed">;

/** Sorts rows changed after `since` into created, updated and destroyed (RFC 8620 §5.2). */
/** `nameState`: the change number at which the user's display name last changed (users.name_state). */
export function identityChangesOf(
  rows: ChangeRow[],
  since: number,
  state: number,
  nameState = 0,
): IdentityChanges {
  const changes: IdentityChanges = { state, created: [], updated: [], destroyed: [] };
  if (nameState > since && nameState <= state) changes.nameChanged = true;
  for (const row of rows) {
    const born = Number(row.created_state) > since;
    const gone = row.destroyed === true || row.destroyed === 1;
    if (gone) {
      if (!born) changes.destroyed.push(Number(row.id));
    } else (born ? changes.created : changes.updated).push(Number(row.id));
  }
  return changes;
}

/** name, email, reply_to, bcc, text_signature, html_signature, in that order, as both backends bind them. */
export function identityValues(fields: Partial<IdentityFields>): unknown[] {
  return [
    fields.name ?? "",
    fields.email,
    fields.replyTo == null ? null : JSON.stringify(fields.replyTo),
    fields.bcc == null ? null : JSON.stringify(fields.bcc),
    fields.textSignature ?? "",
    fields.htmlSignature ?? "",
  ];
}
