// Versioned schema. Each entry of MIGRATIONS is applied once, in order, and recorded in
// mailroom_schema. Several nodes may start at the same moment against one database, so the whole check-
// and-apply runs in one transaction holding a transaction-scoped advisory lock: the second node waits,
// then sees the work done. Append new migrations; never edit a released one.

import type pg from "pg";
import { NoStoreError } from "../errors.js";
import { StoreError } from "../types.js";

/** Key of the advisory lock serialising migrations: "mailroom" in ASCII read as an int8. */
const MIGRATION_LOCK_KEY = "7881696737372368749";

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE counters (
    name text PRIMARY KEY,
    value bigint NOT NULL
  );
  INSERT INTO counters (name, value) VALUES ('uid_validity', 0);

  CREATE TABLE domains (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
  );

  CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address text NOT NULL UNIQUE,
    domain_id bigint NOT NULL REFERENCES domains (id),
    password_hash text NOT NULL,
    scram_sha256 text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX users_domain ON users (domain_id);

  CREATE TABLE aliases (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL,
    destination text NOT NULL,
    domain_id bigint NOT NULL REFERENCES domains (id),
    UNIQUE (source, destination)
  );
  CREATE INDEX aliases_domain ON aliases (domain_id);

  CREATE TABLE mailboxes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    special_use text,
    subscribed boolean NOT NULL DEFAULT true,
    uid_validity bigint NOT NULL,
    uid_next bigint NOT NULL DEFAULT 1,
    highest_modseq bigint NOT NULL DEFAULT 1,
    UNIQUE (user_id, name)
  );

  -- Bodies live in the database, not on a file system, so nodes sharing this database need no shared
  -- storage. A body is split into bytea chunks so writers and readers stream it piece by piece (a
  -- single bytea value would have to be built and fetched whole, in memory); each chunk is small enough
  -- for TOAST to store out of line without bloating the row, and large enough that per-row overhead is
  -- negligible. A blob row is invisible to readers until complete; its chunks go with it on delete.
  CREATE TABLE blobs (
    id text PRIMARY KEY,
    size bigint NOT NULL DEFAULT 0,
    complete boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE blob_chunks (
    blob_id text NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (blob_id, seq)
  );

  CREATE TABLE messages (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid bigint NOT NULL,
    message_id text NOT NULL REFERENCES blobs (id),
    flags text[] NOT NULL,
    internal_date timestamptz NOT NULL,
    size bigint NOT NULL,
    modseq bigint NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
  );
  CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
  CREATE INDEX messages_message_id ON messages (message_id);

  CREATE TABLE expunged (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid bigint NOT NULL,
    modseq bigint NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
  );
  CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);

  CREATE TABLE queue (
    id text PRIMARY KEY,
    message_id text NOT NULL REFERENCES blobs (id),
    sender text NOT NULL,
    recipient text NOT NULL,
    dsn jsonb NOT NULL,
    envelope_dsn jsonb NOT NULL,
    state text NOT NULL CHECK (state IN ('queued', 'delivering')),
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    last_error text,
    claimed_until timestamptz,
    delay_notified boolean NOT NULL DEFAULT false
  );
  CREATE INDEX queue_due ON queue (next_attempt_at);
  CREATE INDEX queue_message_id ON queue (message_id);
  `,
  // One DKIM key per domain: rotation replaces it (the old selector's DNS record is the operator's to keep).
  `
  CREATE TABLE dkim_keys (
    domain_id bigint PRIMARY KEY REFERENCES domains (id) ON DELETE CASCADE,
    selector text NOT NULL,
    private_key_pem text NOT NULL,
    algorithm text NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
    created_at timestamptz NOT NULL DEFAULT now()
  );
  `,
  // header: the message's header block (Store.readHeaderBlocks), set when the body is finished, so IMAP
  // answers header FETCH and SEARCH without fetching body chunks; NULL for bodies stored before. It sits
  // on blobs, the one row per message id (messages holds one row per mailbox entry).
  // subscriptions: RFC 9051 §6.3.9 forbids dropping a subscribed name when its mailbox goes, so names
  // live apart from mailboxes; mailboxes.subscribed is no longer read once they are copied here.
  `
  ALTER TABLE blobs ADD COLUMN header bytea;

  CREATE TABLE subscriptions (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    PRIMARY KEY (user_id, name)
  );
  INSERT INTO subscriptions (user_id, name) SELECT user_id, name FROM mailboxes WHERE subscribed;
  `,
  // claimed_by: the store instance (node) holding a "delivering" entry's lease, so renewQueueLeases
  // extends only leases still its own, never one another node took over after it ran out.
  `
  ALTER TABLE queue ADD COLUMN claimed_by text;
  `,
  // auth_failures: recent failed authentications per client key, so the throttle counts across every node
  // (Store.authFailures.record). UNLOGGED: it skips the write-ahead log, so failures cost no WAL traffic
  // or fsync; a crash empties it (and standbys do not have it), which only forgets failures a window
  // old at most: clients get a fresh allowance, nothing durable is lost. Rows carry the recording node's
  // clock; those older than the window are pruned on insert, in bounded batches (by the `at` index).
  `
  CREATE UNLOGGED TABLE auth_failures (
    key text NOT NULL,
    at timestamptz NOT NULL
  );
  CREATE INDEX auth_failures_key_at ON auth_failures (key, at);
  CREATE INDEX auth_failures_at ON auth_failures (at);
  `,
  // app_tokens: app passwords / bearer tokens, looked up by their public id; only a hash of the secret.
  // uploads: JMAP uploads (RFC 8620 §6.1) that no message names yet; the orphan sweep keeps a body an
  // upload names, and expired rows go at the next upload, their bodies with them when unreferenced.
  `
  CREATE TABLE app_tokens (
    id text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    secret_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX app_tokens_user ON app_tokens (user_id);

  CREATE TABLE uploads (
    blob_id text NOT NULL REFERENCES blobs (id),
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL,
    size bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, blob_id)
  );
  CREATE INDEX uploads_blob ON uploads (blob_id);
  CREATE INDEX uploads_expiry ON uploads (expires_at);
  `,
  // JMAP (RFC 8620/8621) groundwork. users.modseq: the account-wide MODSEQ every change of the user's
  // mailboxes and messages takes (under the user row's lock), so it is the account's state; per-mailbox
  // MODSEQs still only increase, which is all RFC 7162 asks. next_email_id: email ids, per user, never
  // reused. changes_floor: the oldest state whose changes can be told; expunges before this schema kept
  // no email ids, so it starts at the state now. Each existing message is its own thread.
  // expunged loses its foreign key: a deleted mailbox's entries stay as expunge records, next to the
  // mailbox's tombstone, so Email/changes and Mailbox/changes can report them destroyed.
  // thread_refs: a hash of each delivered message's Message-ID, per user, to its thread (threading.ts).
  `
  ALTER TABLE users ADD COLUMN modseq bigint NOT NULL DEFAULT 1,
    ADD COLUMN next_email_id bigint NOT NULL DEFAULT 1,
    ADD COLUMN changes_floor bigint NOT NULL DEFAULT 0;
  ALTER TABLE mailboxes ADD COLUMN created_modseq bigint NOT NULL DEFAULT 0;
  ALTER TABLE messages ADD COLUMN email_id bigint NOT NULL DEFAULT 0,
    ADD COLUMN thread_id bigint NOT NULL DEFAULT 0,
    ADD COLUMN created_modseq bigint NOT NULL DEFAULT 0;
  UPDATE messages m SET email_id = numbered.n, thread_id = numbered.n, created_modseq = m.modseq
    FROM (SELECT e.mailbox_id, e.uid,
                 row_number() OVER (PARTITION BY b.user_id ORDER BY e.internal_date, e.mailbox_id, e.uid) AS n
          FROM messages e JOIN mailboxes b ON b.id = e.mailbox_id) AS numbered
    WHERE m.mailbox_id = numbered.mailbox_id AND m.uid = numbered.uid;
  UPDATE users u SET
    modseq = greatest(1, coalesce((SELECT max(highest_modseq) FROM mailboxes WHERE user_id = u.id), 1)),
    next_email_id = 1 + coalesce((SELECT max(m.email_id) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                                  WHERE b.user_id = u.id), 0);
  UPDATE users SET changes_floor = modseq;
  CREATE INDEX messages_email ON messages (mailbox_id, email_id);
  CREATE INDEX messages_thread ON messages (mailbox_id, thread_id);

  ALTER TABLE expunged DROP CONSTRAINT expunged_mailbox_id_fkey,
    ADD COLUMN email_id bigint NOT NULL DEFAULT 0,
    ADD COLUMN thread_id bigint NOT NULL DEFAULT 0,
    ADD COLUMN created_modseq bigint NOT NULL DEFAULT 0;

  CREATE TABLE mailbox_tombstones (
    mailbox_id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_modseq bigint NOT NULL,
    modseq bigint NOT NULL
  );
  CREATE INDEX mailbox_tombstones_user ON mailbox_tombstones (user_id, modseq);

  CREATE TABLE thread_refs (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash bigint NOT NULL,
    thread_id bigint NOT NULL,
    PRIMARY KEY (user_id, hash)
  );
  `,
  // Vacation auto-replies (store/vacation.ts): the setting, and whom each user answered when.
  `
  CREATE TABLE vacation (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled boolean NOT NULL,
    from_date timestamptz,
    to_date timestamptz,
    subject text,
    text_body text,
    html_body text
  );
  CREATE TABLE vacation_replies (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sender text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (user_id, sender)
  );
  `,
  // JMAP identities (RFC 8621 §6, src/store/identities.ts): destroyed rows stay, flagged, so that
  // Identity/changes can report them; state is the user's identity change number at the last write.
  `
  CREATE TABLE identities (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    email text NOT NULL,
    reply_to text,
    bcc text,
    text_signature text NOT NULL,
    html_signature text NOT NULL,
    created_state bigint NOT NULL,
    state bigint NOT NULL,
    destroyed boolean NOT NULL DEFAULT false
  );
  CREATE INDEX identities_user ON identities (user_id, state);
  `,
  // Storage quotas (store/quotas.ts): a row only for users with a limit.
  `
  CREATE TABLE quotas (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    storage_limit bigint NOT NULL
  );
  `,
  // The full-text index (store/search-index.ts): one row per indexed body, a tsvector per field, one
  // GIN index over all of them; rows go with their body. The words arrive folded and split
  // (mail/search-text.ts), so the 'simple' configuration (no stemming, no stop words) keeps them as
  // they are, as SQLite's FTS5 does. Unlike FTS5, a tsvector keeps positions only up to 16,383, so a
  // phrase of words past that point in a long body is not found. Bodies already stored are indexed by
  // their owner's first search.
  `
  CREATE TABLE search_docs (
    message_id text PRIMARY KEY REFERENCES blobs (id) ON DELETE CASCADE,
    subject tsvector NOT NULL,
    "from" tsvector NOT NULL,
    "to" tsvector NOT NULL,
    cc tsvector NOT NULL,
    bcc tsvector NOT NULL,
    body tsvector NOT NULL,
    attached tsvector NOT NULL
  );
  CREATE INDEX search_docs_words ON search_docs USING gin (subject, "from", "to", cc, bcc, body, attached);
  `,
  // JMAP EmailSubmissions (RFC 8621 §7, src/store/submissions.ts): kept with tombstones like
  // identities; message_id is the delivered message, which its queue entries name.
  `
  CREATE TABLE submissions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id text NOT NULL,
    identity_id text NOT NULL,
    email_id text NOT NULL,
    thread_id text NOT NULL,
    envelope text NOT NULL,
    send_at bigint NOT NULL,
    delivery_status text NOT NULL,
    created_state bigint NOT NULL,
    state bigint NOT NULL,
    destroyed boolean NOT NULL DEFAULT false
  );
  CREATE INDEX submissions_user ON submissions (user_id, state);
  CREATE INDEX submissions_message ON submissions (message_id);
  `,
  // Sieve scripts (store/sieve-scripts.ts, issue 18): each user's scripts by name, one active.
  `
  CREATE TABLE sieve_scripts (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    source text NOT NULL,
    active boolean NOT NULL DEFAULT false,
    PRIMARY KEY (user_id, name)
  );
  `,
  // push_subscriptions: JMAP PushSubscription (RFC 8620 §7.2); the verification code only as a hash
  // until the client sends it back.
  `
  CREATE TABLE push_subscriptions (
    id text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_client_id text NOT NULL,
    url text NOT NULL,
    keys jsonb,
    verification_hash text NOT NULL,
    verification_code text,
    expires_at timestamptz NOT NULL,
    types jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
  );
  CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);
  CREATE INDEX push_subscriptions_expiry ON push_subscriptions (expires_at);
  `,
  // RFC 8514 SAVEDATE: when an entry entered its mailbox. Older entries keep NULL, read as their
  // internal date, so the migration rewrites no rows.
  `ALTER TABLE messages ADD COLUMN saved_at timestamptz`,
  // structure: the message's IMAP ENVELOPE, BODY and BODYSTRUCTURE answers, encoded once
  // (BlobStore.readStructures), so FETCH of them reads no body chunks; NULL until first computed.
  `ALTER TABLE blobs ADD COLUMN structure bytea;`,
  // Delivery traces (store/traces.ts, issue 16): one row per message with its sender and the span of
  // its events (pruned whole by last_at), and the events themselves.
  `
  CREATE TABLE traces (
    message_id text PRIMARY KEY,
    sender text,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL
  );
  CREATE INDEX traces_last ON traces (last_at);
  CREATE INDEX traces_sender ON traces (sender, last_at);
  CREATE TABLE trace_events (
    seq bigserial PRIMARY KEY,
    message_id text NOT NULL REFERENCES traces (message_id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    kind text NOT NULL,
    recipient text,
    data jsonb NOT NULL
  );
  CREATE INDEX trace_events_message ON trace_events (message_id, at);
  CREATE INDEX trace_events_recipient ON trace_events (recipient) WHERE recipient IS NOT NULL;
  `,
  // MTA-STS and TLS-RPT (store/mta-sts.ts): each recipient domain's cached policy, the day's TLS
  // session counts per policy domain, MX host and result (result '' is success), and the days whose
  // reports were claimed for sending.
  `
  CREATE TABLE mta_sts_policies (
    domain text PRIMARY KEY,
    id text NOT NULL,
    mode text NOT NULL,
    mx jsonb NOT NULL,
    max_age bigint NOT NULL,
    fetched_at timestamptz NOT NULL
  );
  CREATE TABLE tls_sessions (
    day text NOT NULL,
    policy_domain text NOT NULL,
    mx_host text NOT NULL,
    result_type text NOT NULL,
    policy_type text NOT NULL,
    policy_string jsonb NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (day, policy_domain, mx_host, result_type)
  );
  CREATE TABLE tls_report_days (
    day text PRIMARY KEY,
    claimed_at timestamptz NOT NULL
  );
  `,
  // Spam filtering (issue 18): rspamd's verdict per message, gone with its body; greylisting triplets
  // by key, shared by every node, pruned by last sighting.
  `
  CREATE TABLE spam_scans (
    message_id text PRIMARY KEY REFERENCES blobs (id) ON DELETE CASCADE,
    score double precision NOT NULL,
    required_score double precision NOT NULL,
    action text NOT NULL,
    symbols text[] NOT NULL,
    scanned_at timestamptz NOT NULL
  );
  CREATE TABLE greylist (
    key text PRIMARY KEY,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    passed boolean NOT NULL
  );
  CREATE INDEX greylist_last_seen ON greylist (last_seen);
  `,
  // The web admin (issue 16): who may use it. Existing users are not admins.
  `
  ALTER TABLE users ADD COLUMN admin boolean NOT NULL DEFAULT false;
  `,
  // IMAP METADATA (RFC 5464, issue 17): a mailbox's entries, or the server's (no mailbox) per user;
  // gone with their mailbox or user.
  `
  CREATE TABLE metadata (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mailbox_id bigint REFERENCES mailboxes (id) ON DELETE CASCADE,
    entry text NOT NULL,
    value bytea NOT NULL
  );
  CREATE UNIQUE INDEX metadata_entry ON metadata (user_id, coalesce(mailbox_id, 0), entry);
  `,
  // JMAP EmailSubmission undoStatus "canceled" (RFC 8621 §7.5, issue 14): taken back from the queue.
  `
  ALTER TABLE submissions ADD COLUMN canceled boolean NOT NULL DEFAULT false;
  `,
  // Disabled users (issue 16): refused at every login, still receiving mail. Existing users are enabled.
  `
  ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;
  `,
  // JMAP Sieve (RFC 9661, issue 18): each script gets an id, and every write the user's next script
  // state, so SieveScript/changes can tell what changed; destroyed scripts stay as tombstones, so a name
  // is unique among live scripts only. Existing scripts start at state 1.
  `
  ALTER TABLE sieve_scripts DROP CONSTRAINT sieve_scripts_pkey;
  ALTER TABLE sieve_scripts ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
  ALTER TABLE sieve_scripts ADD COLUMN created_state bigint NOT NULL DEFAULT 1;
  ALTER TABLE sieve_scripts ADD COLUMN state bigint NOT NULL DEFAULT 1;
  ALTER TABLE sieve_scripts ADD COLUMN destroyed boolean NOT NULL DEFAULT false;
  ALTER TABLE sieve_scripts ALTER COLUMN created_state DROP DEFAULT, ALTER COLUMN state DROP DEFAULT;
  CREATE UNIQUE INDEX sieve_scripts_name ON sieve_scripts (user_id, name) WHERE NOT destroyed;
  CREATE INDEX sieve_scripts_state ON sieve_scripts (user_id, state);
  `,
  // RFC 4865 future release (issue 14): a held entry's release time, and recipients of this server's
  // own domains whose delivery waits in the queue with it. Display names for the default JMAP Identity.
  // Existing entries are neither held nor local; existing users have no name.
  `
  ALTER TABLE queue ADD COLUMN hold_until timestamptz;
  ALTER TABLE queue ADD COLUMN local boolean NOT NULL DEFAULT false;
  ALTER TABLE users ADD COLUMN name text;
  `,
  // The identity change number at which the user's display name last changed: the default JMAP
  // Identity's name comes from it, so Identity/changes reports that identity updated after it.
  "ALTER TABLE users ADD COLUMN name_state bigint NOT NULL DEFAULT 0",
  // A mailbox's entries newest first, and each thread's entries in date order: a mail client's list
  // (JMAP Email/query by receivedAt, collapsed or not) reads its page from the first and checks each
  // candidate's thread in the second, instead of sorting the whole mailbox.
  `
  CREATE INDEX messages_date ON messages (mailbox_id, internal_date DESC, email_id) INCLUDE (thread_id);
  DROP INDEX messages_thread;
  CREATE INDEX messages_thread ON messages (mailbox_id, thread_id, internal_date, email_id);
  `, // URLAUTH (RFC 4467, issue 17): each mailbox's access key, made at its first GENURLAUTH, gone with the
  // mailbox.
  `
  CREATE TABLE mailbox_access_keys (
    mailbox_id bigint PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    access_key bytea NOT NULL
  );
  `,
  // IMAP SEARCH BODY and TEXT skip the bodies whose kept words (mail/search-match.ts) cannot hold the
  // text. NULL: none kept yet (a search that reads the body keeps them); '': too many to keep.
  "ALTER TABLE search_docs ADD COLUMN match_words text",
  // What IMAP SORT and THREAD compare of each body (store/sort-inputs.ts). NULL until the first SORT or
  // THREAD that needs it computes it from the header block and keeps it: existing bodies are filled as
  // they are sorted, so the migration rewrites no rows.
  "ALTER TABLE blobs ADD COLUMN sort_inputs text",
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema up to SCHEMA_VERSION (or `target`: tests build older databases with it); refuses a
 * database a newer mailroom has already upgraded. With `create: false` a database without mailroom's
 * schema is refused (NoStoreError) and left untouched.
 */
export async function migrate(
  client: pg.ClientBase,
  options: { target?: number; create?: boolean } = {},
): Promise<{ from: number; to: number }> {
  const target = options.target ?? SCHEMA_VERSION;
  await client.query("BEGIN");
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    if (options.create === false) {
      const exists = await client.query<{ table: string | null }>(
        "SELECT to_regclass('mailroom_schema')::text AS table",
      );
      if (exists.rows[0]?.table === null) {
        throw new NoStoreError("the PostgreSQL database holds no mailroom store (no mailroom_schema table)");
      }
    }
    await client.query(
      "CREATE TABLE IF NOT EXISTS mailroom_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const result = await client.query<{ version: number | null }>(
      "SELECT max(version) AS version FROM mailroom_schema",
    );
    const current = result.rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        "invalid",
        `this database was set up by a newer mailroom (schema ${current}, this build knows ${SCHEMA_VERSION}); upgrade mailroom`,
      );
    }
    for (let version = current + 1; version <= target; version++) {
      await client.query(MIGRATIONS[version - 1] as string);
      await client.query("INSERT INTO mailroom_schema (version) VALUES ($1)", [version]);
    }
    await client.query("COMMIT");
    return { from: current, to: Math.max(current, target) };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
