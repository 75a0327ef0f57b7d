// The directory part of the SQLite store: domains with their DKIM keys, users with their credentials,
// and aliases.

import { normalizeDkimKey } from "../dkim-key.js";
import { userName } from "../input-checks.js";
import {
  type Alias,
  type AppToken,
  DEFAULT_MAILBOXES,
  type DirectoryStore,
  type DkimKey,
  type DkimKeyInput,
  type Domain,
  type StoredAppToken,
  type StoredCredentials,
  StoreError,
  type User,
} from "../types.js";
import { forgetUploadBodies } from "./blobs.js";
import type { SqliteDatabase } from "./database.js";
import { SQLITE_IDENTITY_STATE } from "./identities.js";
import { insertMailbox } from "./mailbox-rows.js";
import { type AliasRow, type DkimKeyRow, type DomainRow, toDomain, toUser, type UserRow } from "./rows.js";
import { normalizeAddress, normalizeAliasSource, normalizeDomain, requireText } from "./validate.js";

export class SqliteDirectory implements DirectoryStore {
  constructor(private readonly database: SqliteDatabase) {}

  // ---- domains ----

  addDomain(name: string): Promise<Domain> {
    return this.database.write(() => {
      const domain = normalizeDomain(name);
      if (this.database.get("SELECT 1 FROM domains WHERE name = ?", domain)) {
        throw new StoreError("exists", `domain ${domain} already exists`);
      }
      const row = this.database.get<DomainRow>(
        "INSERT INTO domains (name, created_at) VALUES (?, ?) RETURNING *",
        domain,
        Date.now(),
      );
      return toDomain(row!);
    });
  }

  getDomain(name: string): Promise<Domain | null> {
    return this.database.read(() => {
      const row = this.database.get<DomainRow>("SELECT * FROM domains WHERE name = ?", normalizeDomain(name));
      return row ? toDomain(row) : null;
    });
  }

  listDomains(): Promise<Domain[]> {
    return this.database.read(() =>
      this.database.all<DomainRow>("SELECT * FROM domains ORDER BY name").map(toDomain),
    );
  }

  removeDomain(name: string): Promise<void> {
    return this.database.write(() => {
      const domain = normalizeDomain(name);
      const row = this.database.get<DomainRow>("SELECT * FROM domains WHERE name = ?", domain);
      if (!row) throw new StoreError("not-found", `domain ${domain} does not exist`);
      const users = this.database.get<{ n: number }>(
        "SELECT count(*) AS n FROM users WHERE domain_id = ?",
        row.id,
      )!.n;
      const aliases = this.database.get<{ n: number }>(
        "SELECT count(*) AS n FROM aliases WHERE domain_id = ?",
        row.id,
      )!.n;
      if (users > 0 || aliases > 0) {
        throw new StoreError(
          "not-empty",
          `domain ${domain} still has ${users} user(s) and ${aliases} alias(es); remove them first`,
        );
      }
      this.database.run("DELETE FROM dkim_keys WHERE domain_id = ?", row.id);
      this.database.run("DELETE FROM domains WHERE id = ?", row.id);
    });
  }

  setDkimKey(domain: string, key: DkimKeyInput): Promise<void> {
    return this.database.write(() => {
      const name = normalizeDomain(domain);
      const checked = normalizeDkimKey(key);
      const row = this.database.get<DomainRow>("SELECT * FROM domains WHERE name = ?", name);
      if (!row) throw new StoreError("not-found", `domain ${name} is not served here; add it first`);
      this.database.run(
        `INSERT INTO dkim_keys (domain_id, selector, private_key_pem, algorithm, created_at)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (domain_id) DO UPDATE SET selector = excluded.selector,
             private_key_pem = excluded.private_key_pem, algorithm = excluded.algorithm,
             created_at = excluded.created_at`,
        row.id,
        checked.selector,
        checked.privateKeyPem,
        checked.algorithm,
        Date.now(),
      );
    });
  }

  getDkimKey(domain: string): Promise<DkimKey | null> {
    return this.database.read(() => {
      const row = this.database.get<DkimKeyRow>(
        `SELECT k.* FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = ?`,
        normalizeDomain(domain),
      );
      if (!row) return null;
      return {
        selector: row.selector,
        privateKeyPem: row.private_key_pem,
        algorithm: row.algorithm,
        createdAt: new Date(row.created_at),
      };
    });
  }

  // ---- users ----

  addUser(
    address: string,
    credentials: StoredCredentials,
    options: { admin?: boolean; name?: string | null } = {},
  ): Promise<User> {
    return this.database.write((effects) => {
      const { address: normalized, domain } = normalizeAddress(address);
      const name = userName(options.name);
      const passwordHash = requireText(credentials?.passwordHash, "the password hash");
      const scram = requireText(credentials?.scramSha256, "the SCRAM-SHA-256 verifier");
      const domainRow = this.database.get<DomainRow>("SELECT * FROM domains WHERE name = ?", domain);
      if (!domainRow) {
        throw new StoreError(
          "not-found",
          `domain ${domain} does not exist; add it first (mailroom domain add)`,
        );
      }
      if (this.database.get("SELECT 1 FROM users WHERE address = ?", normalized)) {
        throw new StoreError("exists", `user ${normalized} already exists`);
      }
      const row = this.database.get<UserRow>(
        `INSERT INTO users (address, domain_id, password_hash, scram_sha256, admin, name, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        normalized,
        domainRow.id,
        passwordHash,
        scram,
        options.admin === true ? 1 : 0,
        name,
        Date.now(),
      )!;
      // A new account's state is 1 (the column default), and its mailboxes are there from the start.
      for (const mailbox of DEFAULT_MAILBOXES)
        insertMailbox(this.database, row.id, mailbox.name, mailbox.specialUse, 1);
      effects.events.push({ kind: "mailboxes", userId: row.id });
      return toUser(row);
    });
  }

  getUser(address: string): Promise<User | null> {
    return this.database.read(() => {
      const row = this.database.get<UserRow>(
        "SELECT * FROM users WHERE address = ?",
        normalizeAddress(address).address,
      );
      return row ? toUser(row) : null;
    });
  }

  getUserById(id: number): Promise<User | null> {
    return this.database.read(() => {
      const row = this.database.get<UserRow>("SELECT * FROM users WHERE id = ?", id);
      return row ? toUser(row) : null;
    });
  }

  listUsers(domain?: string): Promise<User[]> {
    return this.database.read(() => {
      if (domain === undefined)
        return this.database.all<UserRow>("SELECT * FROM users ORDER BY address").map(toUser);
      return this.database
        .all<UserRow>(
          "SELECT users.* FROM users JOIN domains ON domains.id = users.domain_id WHERE domains.name = ? ORDER BY address",
          normalizeDomain(domain),
        )
        .map(toUser);
    });
  }

  removeUser(address: string): Promise<void> {
    return this.database.write((effects) => {
      const normalized = normalizeAddress(address).address;
      const user = this.database.get<UserRow>("SELECT * FROM users WHERE address = ?", normalized);
      if (!user) throw new StoreError("not-found", `user ${normalized} does not exist`);
      const messageIds = this.database
        .all<{ message_id: string }>(
          `SELECT DISTINCT message_id FROM mailbox_messages
         WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?)`,
          user.id,
        )
        .map((row) => row.message_id);
      this.database.run(
        "DELETE FROM mailbox_messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?)",
        user.id,
      );
      this.database.run(
        `DELETE FROM expunged WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ?
           UNION ALL SELECT mailbox_id FROM mailbox_tombstones WHERE user_id = ?)`,
        user.id,
        user.id,
      );
      this.database.run("DELETE FROM mailbox_tombstones WHERE user_id = ?", user.id);
      this.database.run("DELETE FROM thread_refs WHERE user_id = ?", user.id);
      this.database.run("DELETE FROM mailboxes WHERE user_id = ?", user.id);
      this.database.run("DELETE FROM subscriptions WHERE user_id = ?", user.id);
      this.database.run("DELETE FROM identities WHERE user_id = ?", user.id);
      this.database.run("DELETE FROM submissions WHERE user_id = ?", user.id);
      this.database.run("DELETE FROM app_tokens WHERE user_id = ?", user.id);
      this.database.run("DELETE FROM push_subscriptions WHERE user_id = ?", user.id);
      const uploads = this.database
        .all<{ blob_id: string }>("DELETE FROM uploads WHERE user_id = ? RETURNING blob_id", user.id)
        .map((row) => row.blob_id);
      this.database.run("DELETE FROM users WHERE id = ?", user.id);
      forgetUploadBodies(this.database, uploads, effects);
      this.database.dropUnreferenced(messageIds, effects);
      effects.events.push({ kind: "mailboxes", userId: user.id });
    });
  }

  setCredentials(address: string, credentials: StoredCredentials): Promise<void> {
    return this.database.write(() => {
      const normalized = normalizeAddress(address).address;
      const result = this.database.run(
        "UPDATE users SET password_hash = ?, scram_sha256 = ? WHERE address = ?",
        requireText(credentials?.passwordHash, "the password hash"),
        requireText(credentials?.scramSha256, "the SCRAM-SHA-256 verifier"),
        normalized,
      );
      if (result.changes === 0) throw new StoreError("not-found", `user ${normalized} does not exist`);
    });
  }

  setAdmin(address: string, admin: boolean): Promise<void> {
    return this.database.write(() => {
      const normalized = normalizeAddress(address).address;
      const result = this.database.run(
        "UPDATE users SET admin = ? WHERE address = ?",
        admin ? 1 : 0,
        normalized,
      );
      if (result.changes === 0) throw new StoreError("not-found", `user ${normalized} does not exist`);
    });
  }

  setDisabled(address: string, disabled: boolean): Promise<void> {
    return this.database.write(() => {
      const normalized = normalizeAddress(address).address;
      const result = this.database.run(
        "UPDATE users SET disabled = ? WHERE address = ?",
        disabled ? 1 : 0,
        normalized,
      );
      if (result.changes === 0) throw new StoreError("not-found", `user ${normalized} does not exist`);
    });
  }

  setName(address: string, name: string | null): Promise<void> {
    return this.database.write((effects) => {
      const normalized = normalizeAddress(address).address;
      const row = this.database.get<{ id: number; name: string | null }>(
        "SELECT id, name FROM users WHERE address = ?",
        normalized,
      );
      if (!row) throw new StoreError("not-found", `user ${normalized} does not exist`);
      const next = userName(name);
      // The same name again changes no identity, so it moves no state.
      if (row.name === next) return;
      const state = this.database.get<{ state: number }>(SQLITE_IDENTITY_STATE, row.id, row.id)!.state + 1;
      this.database.run("UPDATE users SET name = ?, name_state = ? WHERE id = ?", next, state, row.id);
      effects.events.push({ kind: "identities", userId: row.id });
    });
  }

  // ---- aliases ----

  addAlias(source: string, destination: string): Promise<Alias> {
    return this.database.write(() => {
      const { source: normalizedSource, domain } = normalizeAliasSource(source);
      const normalizedDestination = normalizeAddress(destination).address;
      const domainRow = this.database.get<DomainRow>("SELECT * FROM domains WHERE name = ?", domain);
      if (!domainRow) {
        throw new StoreError("not-found", `domain ${domain} does not exist; add it before its aliases`);
      }
      if (
        this.database.get(
          "SELECT 1 FROM aliases WHERE source = ? AND destination = ?",
          normalizedSource,
          normalizedDestination,
        )
      ) {
        throw new StoreError("exists", `alias ${normalizedSource} → ${normalizedDestination} already exists`);
      }
      return this.database.get<AliasRow>(
        "INSERT INTO aliases (source, destination, domain_id) VALUES (?, ?, ?) RETURNING id, source, destination",
        normalizedSource,
        normalizedDestination,
        domainRow.id,
      )!;
    });
  }

  listAliases(domain?: string): Promise<Alias[]> {
    return this.database.read(() => {
      if (domain === undefined) {
        return this.database.all<AliasRow>(
          "SELECT id, source, destination FROM aliases ORDER BY source, destination",
        );
      }
      return this.database.all<AliasRow>(
        `SELECT aliases.id, source, destination FROM aliases JOIN domains ON domains.id = aliases.domain_id
         WHERE domains.name = ? ORDER BY source, destination`,
        normalizeDomain(domain),
      );
    });
  }

  removeAlias(source: string, destination?: string): Promise<void> {
    return this.database.write(() => {
      const normalizedSource = normalizeAliasSource(source).source;
      const result =
        destination === undefined
          ? this.database.run("DELETE FROM aliases WHERE source = ?", normalizedSource)
          : this.database.run(
              "DELETE FROM aliases WHERE source = ? AND destination = ?",
              normalizedSource,
              normalizeAddress(destination).address,
            );
      if (result.changes === 0) {
        const what = destination === undefined ? normalizedSource : `${normalizedSource} → ${destination}`;
        throw new StoreError("not-found", `no alias ${what}`);
      }
    });
  }

  aliasDestinations(source: string): Promise<string[]> {
    return this.database.read(() =>
      this.database
        .all<{ destination: string }>(
          "SELECT destination FROM aliases WHERE source = ? ORDER BY destination",
          normalizeAliasSource(source).source,
        )
        .map((row) => row.destination),
    );
  }

  // ---- app tokens ----

  createAppToken(userId: number, token: { id: string; name: string; secretHash: string }): Promise<AppToken> {
    return this.database.write(() => {
      const id = requireText(token?.id, "the token id");
      const name = requireText(token?.name, "the token name");
      const secretHash = requireText(token?.secretHash, "the token hash");
      if (!this.database.get("SELECT 1 FROM users WHERE id = ?", userId)) {
        throw new StoreError("not-found", `no user with id ${userId}`);
      }
      if (this.database.get("SELECT 1 FROM app_tokens WHERE id = ?", id)) {
        throw new StoreError("exists", `a token with id ${id} already exists`);
      }
      const createdAt = Date.now();
      this.database.run(
        "INSERT INTO app_tokens (id, user_id, name, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        id,
        userId,
        name,
        secretHash,
        createdAt,
      );
      return { id, userId, name, createdAt: new Date(createdAt) };
    });
  }

  listAppTokens(userId: number): Promise<AppToken[]> {
    return this.database.read(() =>
      this.database
        .all<AppTokenRow>("SELECT * FROM app_tokens WHERE user_id = ? ORDER BY created_at, id", userId)
        .map((row) => {
          const { secretHash: _, ...token } = toAppToken(row);
          return token;
        }),
    );
  }

  revokeAppToken(userId: number, id: string): Promise<void> {
    return this.database.write(() => {
      const result = this.database.run("DELETE FROM app_tokens WHERE user_id = ? AND id = ?", userId, id);
      if (result.changes === 0) throw new StoreError("not-found", `this user has no token ${id}`);
    });
  }

  findAppToken(id: string): Promise<StoredAppToken | null> {
    return this.database.read(() => {
      const row = this.database.get<AppTokenRow>("SELECT * FROM app_tokens WHERE id = ?", id);
      return row ? toAppToken(row) : null;
    });
  }
}

interface AppTokenRow {
  id: string;
  user_id: number;
  name: string;
  secret_hash: string;
  created_at: number;
}

function toAppToken(row: AppTokenRow): StoredAppToken {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    secretHash: row.secret_hash,
    createdAt: new Date(row.created_at),
  };
}
