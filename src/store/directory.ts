// The directory: which domains are served here, their DKIM keys, the users with their credentials, and
// aliases. Addresses and domain names are stored lower-cased (the local part too: mailroom treats local
// parts case-insensitively, as nearly every deployed MTA does, although RFC 5321 §2.4 allows otherwise).

export interface Domain {
  id: number;
  name: string;
  createdAt: Date;
}

/** A domain's DKIM signing key (RFC 6376). The store keeps the PEM opaque; src/mail/dkim.ts reads it. */
export interface DkimKeyInput {
  /** The selector (s= tag): DNS labels, stored lower-cased. */
  selector: string;
  /** PKCS#8 PEM of the private key. */
  privateKeyPem: string;
  algorithm: "rsa-sha256" | "ed25519-sha256";
}

export interface DkimKey extends DkimKeyInput {
  createdAt: Date;
}

/** Credentials are produced by src/auth/password.ts; the store keeps them opaque. */
export interface StoredCredentials {
  /** scrypt hash in a self-describing text form (algorithm, parameters, salt, hash). */
  passwordHash: string;
  /** SCRAM-SHA-256 verifier (salt, iterations, StoredKey, ServerKey), text form; never the password. */
  scramSha256: string;
}

export interface User extends StoredCredentials {
  id: number;
  /** local@domain, lower-cased. */
  address: string;
  domainId: number;
  /** May use the web admin (/admin) and its API; set by `mailroom user add --admin` or `user admin`. */
  admin: boolean;
  /**
   * Refused at every login (password, SCRAM, app token) as a wrong password is; mail to the address is
   * still accepted and delivered. Set by `mailroom user disable` / `user enable`.
   */
  disabled: boolean;
  /**
   * The display name ("Ada Lovelace"), the default JMAP Identity's name; null when none was given. Set
   * by `mailroom user add --name` or `user name`.
   */
  name: string | null;
  createdAt: Date;
}

export interface Alias {
  id: number;
  /** "local@domain", or "@domain" for the domain's catch-all. */
  source: string;
  /** A full address; may be local or remote. */
  destination: string;
}

/**
 * An app password / bearer token a user or admin created (`mailroom token create`). The store keeps
 * only a hash of its secret (src/auth/tokens.ts makes both); the token itself is shown once.
 */
export interface AppToken {
  /** Public part of the token, unique across users: how a presented token finds its row. */
  id: string;
  userId: number;
  /** What the user called it ("phone", "webmail"), to tell tokens apart when revoking. */
  name: string;
  createdAt: Date;
}

export interface StoredAppToken extends AppToken {
  /** Hash of the token's secret part; never the secret. */
  secretHash: string;
}

export interface DirectoryStore {
  // Domains. Removing a domain that still has users or aliases fails with "not-empty".
  addDomain(name: string): Promise<Domain>;
  getDomain(name: string): Promise<Domain | null>;
  listDomains(): Promise<Domain[]>;
  removeDomain(name: string): Promise<void>;
  /** Sets (or replaces: rotation) the domain's one DKIM key; "not-found" for a domain not served here. */
  setDkimKey(domain: string, key: DkimKeyInput): Promise<void>;
  /** The domain's DKIM key; null when it has none or is not served here. Removed with the domain. */
  getDkimKey(domain: string): Promise<DkimKey | null>;

  // Users. addUser creates DEFAULT_MAILBOXES (the user is no admin unless `options.admin`). removeUser
  // deletes the user's mailboxes and messages.
  addUser(
    address: string,
    credentials: StoredCredentials,
    options?: { admin?: boolean; name?: string | null },
  ): Promise<User>;
  getUser(address: string): Promise<User | null>;
  getUserById(id: number): Promise<User | null>;
  listUsers(domain?: string): Promise<User[]>;
  removeUser(address: string): Promise<void>;
  setCredentials(address: string, credentials: StoredCredentials): Promise<void>;
  /** Grants or takes away the admin role; "not-found" for an unknown user. */
  setAdmin(address: string, admin: boolean): Promise<void>;
  /** Disables (true) or enables again (false) the user's logins; "not-found" for an unknown user. */
  setDisabled(address: string, disabled: boolean): Promise<void>;
  /**
   * Sets the display name, or removes it with null (or text that is only spaces); "invalid" for a name
   * with control characters or over USER_NAME_LIMIT characters, "not-found" for an unknown user.
   */
  setName(address: string, name: string | null): Promise<void>;

  // App tokens. Removed with their user. createAppToken: "not-found" for an unknown user, "exists"
  // for an id already taken; revokeAppToken: "not-found" unless the user has a token of that id.
  createAppToken(userId: number, token: { id: string; name: string; secretHash: string }): Promise<AppToken>;
  listAppTokens(userId: number): Promise<AppToken[]>;
  revokeAppToken(userId: number, id: string): Promise<void>;
  findAppToken(id: string): Promise<StoredAppToken | null>;

  // Aliases. One source may have many destinations; adding an existing pair fails with "exists".
  addAlias(source: string, destination: string): Promise<Alias>;
  listAliases(domain?: string): Promise<Alias[]>;
  /** Without destination, removes every alias of the source. */
  removeAlias(source: string, destination?: string): Promise<void>;
  /** Destinations of an exact source ("a@b" or "@b"); empty when none. */
  aliasDestinations(source: string): Promise<string[]>;
}
