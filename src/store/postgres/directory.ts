// The directory part of the PostgreSQL store: domains with their DKIM keys, users with their credentials,
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
import { dropUnreferencedBlobs, type PostgresDatabase } from "./database.js";
import { IDENTITY_STATE, lockedNextState } from "./identities.js";
import { insertMailboxes, lockMailboxes } from "./mailbox-rows.js";
import { normalizeAddress, normalizeAliasSource, normalizeDomain } from "./names.js";
import { type AliasRow, type DomainRow, toAlias, toDomain, toUser, type UserRow } from "./rows.js";

export class PostgresDirectory implements DirectoryStore {
  constructor(private readonly database: PostgresDatabase) {}

  // ---- domains ----

  async addDomain(name: string): Promise<Domain> {
    const domain = normalizeDomain(name);
    try {
      const rows = await this.database.read<DomainRow>("INSERT INTO domains (name) VALUES ($1) RETURNING *", [
        domain,
      ]);
      return toDomain(rows[0] as DomainRow);
    } catch (error) {
      if (error instanceof StoreError && error.code === "exists") {
        throw new StoreError("exists", `domain ${domain} already exists`, { cause: error });
      }
      throw error;
    }
  }

  async getDomain(name: string): Promise<Domain | null> {
    const rows = await this.database.read<DomainRow>("SELECT * FROM domains WHERE name = $1", [
      name.trim().toLowerCase(),
    ]);
    return rows[0] ? toDomain(rows[0]) : null;
  }

  async listDomains(): Promise<Domain[]> {
    return (await this.database.read<DomainRow>("SELECT * FROM domains ORDER BY name")).map(toDomain);
  }

  async removeDomain(name: string): Promise<void> {
    const domain = name.trim().toLowerCase();
    await this.database.tx(async ({ client }) => {
      const found = await client.query<{ id: string }>("SELECT id FROM domains WHERE name = $1 FOR UPDATE", [
        domain,
      ]);
      const id = found.rows[0]?.id;
      if (id === undefined) throw new StoreError("not-found", `no domain ${domain}`);
      const used = await client.query<{ users: string; aliases: string }>(
        `SELECT (SELECT count(*) FROM users WHERE domain_id = $1) AS users,
                (SELECT count(*) FROM aliases WHERE domain_id = $1) AS aliases`,
        [id],
      );
      const users = Number(used.rows[0]?.users);
      const aliases = Number(used.rows[0]?.aliases);
      if (users > 0 || aliases > 0) {
        throw new StoreError(
          "not-empty",
          `domain ${domain} still has ${users} user(s) and ${aliases} alias(es); remove them first`,
        );
      }
      await client.query("DELETE FROM domains WHERE id = $1", [id]);
    });
  }

  async setDkimKey(domain: string, key: DkimKeyInput): Promise<void> {
    const name = normalizeDomain(domain);
    const checked = normalizeDkimKey(key);
    await this.database.tx(async ({ client }) => {
      const result = await client.query(
        `INSERT INTO dkim_keys (domain_id, selector, private_key_pem, algorithm)
           SELECT id, $2, $3, $4 FROM domains WHERE name = $1
           ON CONFLICT (domain_id) DO UPDATE SET selector = excluded.selector,
             private_key_pem = excluded.private_key_pem, algorithm = excluded.algorithm,
             created_at = now()`,
        [name, checked.selector, checked.privateKeyPem, checked.algorithm],
      );
      if (result.rowCount === 0) {
        throw new StoreError("not-found", `domain ${name} is not served here; add it first`);
      }
    });
  }

  async getDkimKey(domain: string): Promise<DkimKey | null> {
    const rows = await this.database.read<{
      selector: string;
      private_key_pem: string;
      algorithm: DkimKey["algorithm"];
      created_at: Date;
    }>(
      `SELECT k.selector, k.private_key_pem, k.algorithm, k.created_at
         FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = $1`,
      [normalizeDomain(domain)],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      selector: row.selector,
      privateKeyPem: row.private_key_pem,
      algorithm: row.algorithm,
      createdAt: row.created_at,
    };
  }

  // ---- users ----

  async addUser(
    address: string,
    credentials: StoredCredentials,
    options: { admin?: boolean; name?: string | null } = {},
  ): Promise<User> {
    const normalized = normalizeAddress(address);
    const domain = normalized.slice(normalized.lastIndexOf("@") + 1);
    const name = userName(options.name);
    return this.database.tx(async (tx) => {
      const result = await tx.client.query<UserRow>(
        `INSERT INTO users (address, domain_id, password_hash, scram_sha256, admin, name)
         SELECT $1, d.id, $3, $4, $5, $6 FROM domains d WHERE d.name = $2
         ON CONFLICT (address) DO NOTHING RETURNING *`,
        [normalized, domain, credentials.passwordHash, credentials.scramSha256, options.admin === true, name],
      );
      const row = result.rows[0];
      if (!row) {
        const exists = await tx.client.query("SELECT 1 FROM users WHERE address = $1", [normalized]);
        if (exists.rows.length > 0) throw new StoreError("exists", `user ${normalized} already exists`);
        throw new StoreError(
          "not-found",
          `no domain ${domain}; add it first (mailroom domain add ${domain})`,
        );
      }
      // A new account's state is 1 (the column default), and its mailboxes are there from the start.
      await insertMailboxes(tx, Number(row.id), DEFAULT_MAILBOXES, 1);
      return toUser(row);
    });
  }

  async getUser(address: string): Promise<User | null> {
    const rows = await this.database.read<UserRow>("SELECT * FROM users WHERE address = $1", [
      address.trim().toLowerCase(),
    ]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async getUserById(id: number): Promise<User | null> {
    const rows = await this.database.read<UserRow>("SELECT * FROM users WHERE id = $1", [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async listUsers(domain?: string): Promise<User[]> {
    const rows =
      domain === undefined
        ? await this.database.read<UserRow>("SELECT * FROM users ORDER BY address")
        : await this.database.read<UserRow>(
            "SELECT u.* FROM users u JOIN domains d ON d.id = u.domain_id WHERE d.name = $1 ORDER BY u.address",
            [domain.trim().toLowerCase()],
          );
    return rows.map(toUser);
  }

  async removeUser(address: string): Promise<void> {
    const normalized = address.trim().toLowerCase();
    await this.database.tx(async (tx) => {
      const found = await tx.client.query<{ id: string }>(
        "SELECT id FROM users WHERE address = $1 FOR UPDATE",
        [normalized],
      );
      const id = found.rows[0]?.id;
      if (id === undefined) throw new StoreError("not-found", `no user ${normalized}`);
      const mailboxIds = await tx.client.query<{ id: string }>(
        "SELECT id FROM mailboxes WHERE user_id = $1 ORDER BY id",
        [id],
      );
      await lockMailboxes(
        tx,
        mailboxIds.rows.map((row) => Number(row.id)),
      );
      const bodies = await tx.client.query<{ message_id: string }>(
        "SELECT DISTINCT m.message_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.user_id = $1",
        [id],
      );
      const uploads = await tx.client.query<{ blob_id: string }>(
        "DELETE FROM uploads WHERE user_id = $1 RETURNING blob_id",
        [id],
      );
      // Expunge records outlive their mailboxes (for JMAP changes), so they do not go by cascade.
      await tx.client.query(
        `DELETE FROM expunged WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = $1
           UNION ALL SELECT mailbox_id FROM mailbox_tombstones WHERE user_id = $1)`,
        [id],
      );
      await tx.client.query("DELETE FROM users WHERE id = $1", [id]);
      await dropUnreferencedBlobs(tx, [
        ...bodies.rows.map((row) => row.message_id),
        ...uploads.rows.map((row) => row.blob_id),
      ]);
      tx.events.push({ kind: "mailboxes", userId: Number(id) });
    });
  }

  async setCredentials(address: string, credentials: StoredCredentials): Promise<void> {
    const normalized = address.trim().toLowerCase();
    const rows = await this.database.read(
      "UPDATE users SET password_hash = $2, scram_sha256 = $3 WHERE address = $1 RETURNING id",
      [normalized, credentials.passwordHash, credentials.scramSha256],
    );
    if (rows.length === 0) throw new StoreError("not-found", `no user ${normalized}`);
  }

  async setAdmin(address: string, admin: boolean): Promise<void> {
    const normalized = normalizeAddress(address);
    const rows = await this.database.read("UPDATE users SET admin = $2 WHERE address = $1 RETURNING id", [
      normalized,
      admin,
    ]);
    if (rows.length === 0) throw new StoreError("not-found", `no user ${normalized}`);
  }

  async setDisabled(address: string, disabled: boolean): Promise<void> {
    const normalized = normalizeAddress(address);
    const rows = await this.database.read("UPDATE users SET disabled = $2 WHERE address = $1 RETURNING id", [
      normalized,
      disabled,
    ]);
    if (rows.length === 0) throw new StoreError("not-found", `no user ${normalized}`);
  }

  async setName(address: string, name: string | null): Promise<void> {
    const normalized = normalizeAddress(address);
    const next = userName(name);
    await this.database.tx(async (tx) => {
      const found = await tx.client.query<{ id: string; name: string | null }>(
        "SELECT id, name FROM users WHERE address = $1",
        [normalized],
      );
      const row = found.rows[0];
      if (row === undefined) throw new StoreError("not-found", `no user ${normalized}`);
      // The same name again changes no identity, so it moves no state.
      if (row.name === next) return;
      const userId = Number(row.id);
      const state = await lockedNextState(tx, IDENTITY_STATE, userId);
      await tx.client.query("UPDATE users SET name = $2, name_state = $3 WHERE id = $1", [
        userId,
        next,
        state,
      ]);
      tx.events.push({ kind: "identities", userId });
    });
  }

  // ---- aliases ----

  async addAlias(source: string, destination: string): Promise<Alias> {
    const { source: from, domain } = normalizeAliasSource(source);
    const to = normalizeAddress(destination);
    return this.database.tx(async ({ client }) => {
      const result = await client.query<AliasRow>(
        `INSERT INTO aliases (source, destination, domain_id)
         SELECT $1, $2, d.id FROM domains d WHERE d.name = $3
         ON CONFLICT (source, destination) DO NOTHING RETURNING id, source, destination`,
        [from, to, domain],
      );
      const row = result.rows[0];
      if (row) return toAlias(row);
      const exists = await client.query("SELECT 1 FROM aliases WHERE source = $1 AND destination = $2", [
        from,
        to,
      ]);
      if (exists.rows.length > 0) throw new StoreError("exists", `alias ${from} → ${to} already exists`);
      throw new StoreError("not-found", `no domain ${domain}; add it first (mailroom domain add ${domain})`);
    });
  }

  async listAliases(domain?: string): Promise<Alias[]> {
    const rows =
      domain === undefined
        ? await this.database.read<AliasRow>(
            "SELECT id, source, destination FROM aliases ORDER BY source, destination",
          )
        : await this.database.read<AliasRow>(
            `SELECT a.id, a.source, a.destination FROM aliases a JOIN domains d ON d.id = a.domain_id
             WHERE d.name = $1 ORDER BY a.source, a.destination`,
            [domain.trim().toLowerCase()],
          );
    return rows.map(toAlias);
  }

  async removeAlias(source: string, destination?: string): Promise<void> {
    const from = source.trim().toLowerCase();
    const rows =
      destination === undefined
        ? await this.database.read("DELETE FROM aliases WHERE source = $1 RETURNING id", [from])
        : await this.database.read(
            "DELETE FROM aliases WHERE source = $1 AND destination = $2 RETURNING id",
            [from, destination.trim().toLowerCase()],
          );
    if (rows.length === 0) {
      const which = destination === undefined ? from : `${from} → ${destination.trim().toLowerCase()}`;
      throw new StoreError("not-found", `no alias ${which}`);
    }
  }

  async aliasDestinations(source: string): Promise<string[]> {
    const rows = await this.database.read<{ destination: string }>(
      "SELECT destination FROM aliases WHERE source = $1 ORDER BY id",
      [source.trim().toLowerCase()],
    );
    return rows.map((row) => row.destination);
  }

  // ---- app tokens ----

  async createAppToken(
    userId: number,
    token: { id: string; name: string; secretHash: string },
  ): Promise<AppToken> {
    for (const [what, value] of [
      ["id", token?.id],
      ["name", token?.name],
      ["hash", token?.secretHash],
    ] as const) {
      if (typeof value !== "string" || value.trim() === "") {
        throw new StoreError("invalid", `the token ${what} must be a non-empty string`);
      }
    }
    try {
      const rows = await this.database.read<AppTokenRow>(
        `INSERT INTO app_tokens (id, user_id, name, secret_hash)
           SELECT $1, id, $3, $4 FROM users WHERE id = $2 RETURNING *`,
        [token.id, userId, token.name, token.secretHash],
      );
      const row = rows[0];
      if (row === undefined) throw new StoreError("not-found", `no user with id ${userId}`);
      const { secretHash: _, ...created } = toAppToken(row);
      return created;
    } catch (error) {
      if (error instanceof StoreError && error.code === "exists") {
        throw new StoreError("exists", `a token with id ${token.id} already exists`, { cause: error });
      }
      throw error;
    }
  }

  async listAppTokens(userId: number): Promise<AppToken[]> {
    const rows = await this.database.read<AppTokenRow>(
      "SELECT * FROM app_tokens WHERE user_id = $1 ORDER BY created_at, id",
      [userId],
    );
    return rows.map((row) => {
      const { secretHash: _, ...token } = toAppToken(row);
      return token;
    });
  }

  async revokeAppToken(userId: number, id: string): Promise<void> {
    const rows = await this.database.read(
      "DELETE FROM app_tokens WHERE user_id = $1 AND id = $2 RETURNING id",
      [userId, id],
    );
    if (rows.length === 0) throw new StoreError("not-found", `this user has no token ${id}`);
  }

  async findAppToken(id: string): Promise<StoredAppToken | null> {
    const rows = await this.database.read<AppTokenRow>("SELECT * FROM app_tokens WHERE id = $1", [id]);
    return rows[0] ? toAppToken(rows[0]) : null;
  }
}

interface AppTokenRow {
  id: string;
  user_id: string;
  name: string;
  secret_hash: string;
  created_at: Date;
}

function toAppToken(row: AppTokenRow): StoredAppToken {
  return {
    id: row.id,
    userId: Number(row.user_id),
    name: row.name,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
  };
}
