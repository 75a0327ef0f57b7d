// Versioned schema. PRAGMA user_version holds the number of migrations applied; each migration runs in
// its own transaction. Append new migrations to the end of MIGRATIONS; never edit a released one.

import type Database from "better-sqlite3";
import { StoreError } from "../types.js";

type Migration = (db: Database.Database) => void;

const MIGRATIONS: Migration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) STRICT;
      INSERT INTO meta (key, value) VALUES ('last_uid_validity', 0);

      CREATE TABLE domains (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL UNIQUE,
        domain_id INTEGER NOT NULL REFERENCES domains(id),
        password_hash TEXT NOT NULL,
        scram_sha256 TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX users_domain ON users(domain_id);

      CREATE TABLE aliases (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        destination TEXT NOT NULL,
        domain_id INTEGER NOT NULL REFERENCES domains(id),
        UNIQUE (source, destination)
      ) STRICT;
      CREATE INDEX aliases_domain ON aliases(domain_id);

      CREATE TABLE mailboxes (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        special_use TEXT,
        subscribed INTEGER NOT NULL,
        uid_validity INTEGER NOT NULL,
        uid_next INTEGER NOT NULL,
        highest_modseq INTEGER NOT NULL,
        UNIQUE (user_id, name)
      ) STRICT;

      CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE mailbox_messages (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
        uid INTEGER NOT NULL,
        message_id TEXT NOT NULL REFERENCES messages(id),
        flags TEXT NOT NULL,
        seen INTEGER NOT NULL,
        internal_date INTEGER NOT NULL,
        size INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      ) STRICT;
      CREATE INDEX mailbox_messages_message ON mailbox_messages(message_id);
      CREATE INDEX mailbox_messages_modseq ON mailbox_messages(mailbox_id, modseq);

      CREATE TABLE expunged (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      ) STRICT;
      CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

      CREATE TABLE queue (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL REFERENCES messages(id),
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        dsn TEXT NOT NULL,
        envelope_dsn TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'delivering')),
        attempts INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        claimed_until INTEGER,
        delay_notified INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX queue_due ON queue(state, next_attempt_at);
      CREATE INDEX queue_message ON queue(message_id);
    `);
  },
  (db) => {
    // One key per domain: rotation replaces it (the old selector's DNS record is the operator's to keep).
    db.exec(`
      CREATE TABLE dkim_keys (
        domain_id INTEGER PRIMARY KEY REFERENCES domains(id),
        selector TEXT NOT NULL,
        private_key_pem TEXT NOT NULL,
        algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
        created_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
  (db) => {
    // header: the message's header block (Store.readHeaderBlocks), kept so IMAP answers header FETCH
    // and SEARCH without reading the body file; NULL for messages stored before it was kept.
    // subscriptions: RFC 9051 §6.3.9 forbids dropping a subscribed name when its mailbox goes, so names
    // live apart from mailboxes; mailboxes.subscribed is no longer read once they are copied here.
    db.exec(`
      ALTER TABLE messages ADD COLUMN header BLOB;

      CREATE TABLE subscriptions (
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        PRIMARY KEY (user_id, name)
      ) STRICT;
      INSERT INTO subscriptions (user_id, name) SELECT user_id, name FROM mailboxes WHERE subscribed = 1;
    `);
  },
  (db) => {
    // claimed_by: the store instance holding a "delivering" entry's lease, so renewQueueLeases extends
    // only leases still its own, never one another process took over after it ran out.
    db.exec("ALTER TABLE queue ADD COLUMN claimed_by TEXT;");
  },
  (db) => {
    // app_tokens: app passwords / bearer tokens, looked up by their public id; only a hash of the secret.
    // uploads: JMAP uploads (RFC 8620 §6.1) that no message names yet; the body file is kept while a
    // row names it (the orphan sweep asks), and expired rows go at the next upload.
    db.exec(`
      CREATE TABLE app_tokens (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX app_tokens_user ON app_tokens(user_id);

      CREATE TABLE uploads (
        blob_id TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id),
        type TEXT NOT NULL,
        size INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, blob_id)
      ) STRICT;
      CREATE INDEX uploads_blob ON uploads(blob_id);
      CREATE INDEX uploads_expiry ON uploads(expires_at);
    `);
  },
  (db) => {
    // JMAP (RFC 8620/8621) groundwork. users.modseq: the account-wide MODSEQ every change of the user's
    // mailboxes and messages takes, so it is the account's state; per-mailbox MODSEQs still only
    // increase, which is all RFC 7162 asks. next_email_id: email ids, per user, never reused.
    // changes_floor: the oldest state whose changes can be told; expunges before this schema recorded no
    // email ids, so it starts at the state now. Each existing message is its own thread.
    // expunged loses its foreign key: a deleted mailbox's entries stay as expunge records, next to the
    // mailbox's tombstone, so Email/changes and Mailbox/changes can report them destroyed.
    // thread_refs: a hash of each delivered message's Message-ID, per user, to its thread (threading.ts).
    db.exec(`
      ALTER TABLE users ADD COLUMN modseq INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE users ADD COLUMN next_email_id INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE users ADD COLUMN changes_floor INTEGER NOT NULL DEFAULT 0;
      UPDATE users SET modseq = max(1, coalesce((SELECT max(highest_modseq) FROM mailboxes WHERE user_id = users.id), 1));
      ALTER TABLE mailboxes ADD COLUMN created_modseq INTEGER NOT NULL DEFAULT 0;

      ALTER TABLE mailbox_messages ADD COLUMN email_id INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE mailbox_messages ADD COLUMN thread_id INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE mailbox_messages ADD COLUMN created_modseq INTEGER NOT NULL DEFAULT 0;
      UPDATE mailbox_messages SET email_id = numbered.n, thread_id = numbered.n, created_modseq = modseq
        FROM (SELECT m.mailbox_id, m.uid,
                     row_number() OVER (PARTITION BY b.user_id ORDER BY m.internal_date, m.mailbox_id, m.uid) AS n
              FROM mailbox_messages m JOIN mailboxes b ON b.id = m.mailbox_id) AS numbered
        WHERE mailbox_messages.mailbox_id = numbered.mailbox_id AND mailbox_messages.uid = numbered.uid;
      UPDATE users SET changes_floor = modseq, next_email_id = 1 + coalesce((SELECT max(m.email_id)
        FROM mailbox_messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.user_id = users.id), 0);
      CREATE INDEX mailbox_messages_email ON mailbox_messages(mailbox_id, email_id);
      CREATE INDEX mailbox_messages_thread ON mailbox_messages(mailbox_id, thread_id);

      CREATE TABLE expunged_new (
        mailbox_id INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        email_id INTEGER NOT NULL,
        thread_id INTEGER NOT NULL,
        created_modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      ) STRICT;
      INSERT INTO expunged_new SELECT mailbox_id, uid, modseq, 0, 0, 0 FROM expunged;
      DROP TABLE expunged;
      ALTER TABLE expunged_new RENAME TO expunged;
      CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

      CREATE TABLE mailbox_tombstones (
        mailbox_id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_modseq INTEGER NOT NULL,
        modseq INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX mailbox_tombstones_user ON mailbox_tombstones(user_id, modseq);

      CREATE TABLE thread_refs (
        user_id INTEGER NOT NULL REFERENCES users(id),
        hash INTEGER NOT NULL,
        thread_id INTEGER NOT NULL,
        PRIMARY KEY (user_id, hash)
      ) STRICT, WITHOUT ROWID;
    `);
  },
  (db) => {
    // Vacation auto-replies (store/vacation.ts): the setting, and whom each user answered when.
    db.exec(`
      CREATE TABLE vacation (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        enabled INTEGER NOT NULL,
        from_date INTEGER,
        to_date INTEGER,
        subject TEXT,
        text_body TEXT,
        html_body TEXT
      ) STRICT;
      CREATE TABLE vacation_replies (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        sender TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (user_id, sender)
      ) STRICT, WITHOUT ROWID;
    `);
  },
  (db) => {
    // JMAP identities (RFC 8621 §6, src/store/identities.ts): destroyed rows stay, flagged, so that
    // Identity/changes can report them; state is the user's identity change number at the last write.
    db.exec(`
      CREATE TABLE identities (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        email TEXT NOT NULL,
        reply_to TEXT,
        bcc TEXT,
        text_signature TEXT NOT NULL,
        html_signature TEXT NOT NULL,
        created_state INTEGER NOT NULL,
        state INTEGER NOT NULL,
        destroyed INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX identities_user ON identities(user_id, state);
    `);
  },
  (db) => {
    // Storage quotas (store/quotas.ts): a row only for users with a limit.
    db.exec(`
      CREATE TABLE quotas (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        storage_limit INTEGER NOT NULL
      ) STRICT;
    `);
  },
  (db) => {
    // The full-text index (store/search-index.ts). search_docs names the indexed bodies and gives each
    // the integer rowid FTS5 needs (messages has a text key, and its implicit rowid may change on
    // VACUUM); search_text is contentless, so the words are not kept twice, and contentless_delete
    // lets the trigger remove a row with its body, whichever path deletes the body's row. The words
    // arrive folded and split (mail/search-text.ts), so the tokenizer only splits at the spaces;
    // diacritics are kept, as i;unicode-casemap keeps them. Bodies already stored are indexed by their
    // owner's first search.
    db.exec(`
      CREATE TABLE search_docs (
        id INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE
      ) STRICT;
      CREATE VIRTUAL TABLE search_text USING fts5(
        subject, "from", "to", cc, bcc, body, attached,
        content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
      );
      CREATE TRIGGER search_docs_drop AFTER DELETE ON messages BEGIN
        DELETE FROM search_text WHERE rowid = (SELECT id FROM search_docs WHERE message_id = old.id);
        DELETE FROM search_docs WHERE message_id = old.id;
      END;
    `);
  },
  (db) => {
    // JMAP EmailSubmissions (RFC 8621 §7, src/store/submissions.ts): kept with tombstones like
    // identities; message_id is the delivered message, which its queue entries name.
    db.exec(`
      CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        message_id TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        email_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        envelope TEXT NOT NULL,
        send_at INTEGER NOT NULL,
        delivery_status TEXT NOT NULL,
        created_state INTEGER NOT NULL,
        state INTEGER NOT NULL,
        destroyed INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX submissions_user ON submissions(user_id, state);
      CREATE INDEX submissions_message ON submissions(message_id);
    `);
  },
  (db) => {
    // Sieve scripts (store/sieve-scripts.ts, issue 18): each user's scripts by name, one active.
    db.exec(`
      CREATE TABLE sieve_scripts (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, name)
      ) STRICT, WITHOUT ROWID;
    `);
  },
  (db) => {
    // push_subscriptions: JMAP PushSubscription (RFC 8620 §7.2); keys and types as JSON, the
    // verification code only as a hash until the client sends it back.
    db.exec(`
      CREATE TABLE push_subscriptions (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        device_client_id TEXT NOT NULL,
        url TEXT NOT NULL,
        keys TEXT,
        verification_hash TEXT NOT NULL,
        verification_code TEXT,
        expires_at INTEGER NOT NULL,
        types TEXT
      ) STRICT;
      CREATE INDEX push_subscriptions_user ON push_subscriptions(user_id);
      CREATE INDEX push_subscriptions_expiry ON push_subscriptions(expires_at);
    `);
  },
  (db) => {
    // RFC 8514 SAVEDATE: when an entry entered its mailbox. Older entries keep NULL, read as their
    // internal date, so the migration rewrites no rows.
    db.exec("ALTER TABLE mailbox_messages ADD COLUMN saved_at INTEGER");
  },
  (db) => {
    // structure: the message's IMAP ENVELOPE, BODY and BODYSTRUCTURE answers, encoded once
    // (BlobStore.readStructures), so FETCH of them reads no body file; NULL until first computed.
    db.exec("ALTER TABLE messages ADD COLUMN structure BLOB");
  },
  (db) => {
    // Delivery traces (store/traces.ts, issue 16): one row per message with its sender and the span of
    // its events (pruned whole by last_at), and the events themselves.
    db.exec(`
      CREATE TABLE traces (
        message_id TEXT PRIMARY KEY,
        sender TEXT,
        first_at INTEGER NOT NULL,
        last_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX traces_last ON traces(last_at);
      CREATE INDEX traces_sender ON traces(sender, last_at);
      CREATE TABLE trace_events (
        seq INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        recipient TEXT,
        data TEXT NOT NULL
      ) STRICT;
      CREATE INDEX trace_events_message ON trace_events(message_id, at);
      CREATE INDEX trace_events_recipient ON trace_events(recipient) WHERE recipient IS NOT NULL;
    `);
  },
  (db) => {
    // MTA-STS and TLS-RPT (store/mta-sts.ts): each recipient domain's cached policy, the day's TLS
    // session counts per policy domain, MX host and result (result "" is success), and the days whose
    // reports were claimed for sending.
    db.exec(`
      CREATE TABLE mta_sts_policies (
        domain TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        mode TEXT NOT NULL,
        mx TEXT NOT NULL,
        max_age INTEGER NOT NULL,
        fetched_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE tls_sessions (
        day TEXT NOT NULL,
        policy_domain TEXT NOT NULL,
        mx_host TEXT NOT NULL,
        result_type TEXT NOT NULL,
        policy_type TEXT NOT NULL,
        policy_string TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, policy_domain, mx_host, result_type)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE tls_report_days (
        day TEXT PRIMARY KEY,
        claimed_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `);
  },
  (db) => {
    // Spam filtering (issue 18): rspamd's verdict per message, gone with its message; greylisting
    // triplets by key, pruned by last sighting.
    db.exec(`
      CREATE TABLE spam_scans (
        message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        score REAL NOT NULL,
        required_score REAL NOT NULL,
        action TEXT NOT NULL,
        symbols TEXT NOT NULL,
        scanned_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE greylist (
        key TEXT PRIMARY KEY,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        passed INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX greylist_last_seen ON greylist(last_seen);
    `);
  },
  (db) => {
    // The web admin (issue 16): who may use it. Existing users are not admins.
    db.exec("ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1))");
  },
  (db) => {
    // IMAP METADATA (RFC 5464, issue 17): a mailbox's entries, or the server's (no mailbox) per user;
    // gone with their mailbox or user.
    db.exec(`
      CREATE TABLE metadata (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
        entry TEXT NOT NULL,
        value BLOB NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX metadata_entry ON metadata(user_id, ifnull(mailbox_id, 0), entry);
    `);
  },
  (db) => {
    // JMAP EmailSubmission undoStatus "canceled" (RFC 8621 §7.5, issue 14): taken back from the queue.
    db.exec(
      "ALTER TABLE submissions ADD COLUMN canceled INTEGER NOT NULL DEFAULT 0 CHECK (canceled IN (0, 1))",
    );
  },
  (db) => {
    // Disabled users (issue 16): refused at every login, still receiving mail. Existing users are
    // enabled.
    db.exec("ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))");
  },
  (db) => {
    // JMAP Sieve (RFC 9661, issue 18): each script gets an id, and every write the user's next script
    // state, so SieveScript/changes can tell what changed; destroyed scripts stay as tombstones, so a
    // name is unique among live scripts only. Existing scripts start at state 1.
    db.exec(`
      CREATE TABLE sieve_scripts_new (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0,
        created_state INTEGER NOT NULL,
        state INTEGER NOT NULL,
        destroyed INTEGER NOT NULL DEFAULT 0 CHECK (destroyed IN (0, 1))
      ) STRICT;
      INSERT INTO sieve_scripts_new (user_id, name, source, active, created_state, state)
        SELECT user_id, name, source, active, 1, 1 FROM sieve_scripts ORDER BY user_id, name;
      DROP TABLE sieve_scripts;
      ALTER TABLE sieve_scripts_new RENAME TO sieve_scripts;
      CREATE UNIQUE INDEX sieve_scripts_name ON sieve_scripts(user_id, name) WHERE destroyed = 0;
      CREATE INDEX sieve_scripts_state ON sieve_scripts(user_id, state);
    `);
  },
  (db) => {
    // RFC 4865 future release (issue 14): a held entry's release time, and recipients of this server's
    // own domains whose delivery waits in the queue with it. Display names for the default JMAP
    // Identity. Existing entries are neither held nor local; existing users have no name.
    db.exec(`
      ALTER TABLE queue ADD COLUMN hold_until INTEGER;
      ALTER TABLE queue ADD COLUMN local INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1));
      ALTER TABLE users ADD COLUMN name TEXT;
    `);
  },
  (db) => {
    // The identity change number at which the user's display name last changed: the default JMAP
    // Identity's name comes from it, so Identity/changes reports that identity updated after it.
    db.exec("ALTER TABLE users ADD COLUMN name_state INTEGER NOT NULL DEFAULT 0");
  },
  (db) => {
    // A mailbox's entries newest first, and each thread's entries in date order, both covering: a mail
    // client's list (JMAP Email/query by receivedAt, collapsed or not) reads its page from the first and
    // checks each candidate's thread in the second, instead of sorting the whole mailbox.
    db.exec(`
      CREATE INDEX mailbox_messages_date ON mailbox_messages(mailbox_id, internal_date DESC, email_id, thread_id);
      DROP INDEX mailbox_messages_thread;
      CREATE INDEX mailbox_messages_thread ON mailbox_messages(mailbox_id, thread_id, internal_date, email_id);
    `);
  },
  (db) => {
    // URLAUTH (RFC 4467, issue 17): each mailbox's access key, made at its first GENURLAUTH, gone with
    // the mailbox.
    db.exec(`
      CREATE TABLE mailbox_access_keys (
        mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
        access_key BLOB NOT NULL
      ) STRICT;
    `);
  },
  (db) => {
    // IMAP SEARCH BODY and TEXT skip the bodies whose kept words (mail/search-match.ts) cannot hold the
    // text. NULL: none kept yet (a search that reads the body keeps them); '': too many to keep.
    db.exec("ALTER TABLE search_docs ADD COLUMN match_words TEXT");
  },
  (db) => {
    // What IMAP SORT and THREAD compare of each body (store/sort-inputs.ts). NULL until the first SORT
    // or THREAD that needs it computes it from the header block and keeps it: existing bodies are
    // filled as they are sorted, so the migration rewrites no rows.
    db.exec("ALTER TABLE messages ADD COLUMN sort_inputs TEXT");
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Reads the stored version and refuses, without writing anything, a database from a newer build. */
export function checkSchemaVersion(db: Database.Database, path: string): number {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      "invalid",
      `${path} was created by a newer mailroom (schema ${version}, this build knows ${SCHEMA_VERSION}); upgrade mailroom`,
    );
  }
  return version;
}

/** Applies the migrations not yet applied; `target` (tests build older databases with it) stops early. */
export function migrate(db: Database.Database, path: string, target = SCHEMA_VERSION): void {
  for (;;) {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const step = db.transaction(() => {
      const version = checkSchemaVersion(db, path);
      const migration = MIGRATIONS[version];
      if (migration === undefined || version >= target) return false;
      migration(db);
      db.pragma(`user_version = ${version + 1}`);
      return true;
    });
    if (!step.immediate()) return;
  }
}
