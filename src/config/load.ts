// Builds the Config: defaults, then the optional TOML file, then MAILROOM_* environment variables, then
// the --data-dir option. Everything is validated before anything runs, and every problem names the key
// (as spelt where it was set) so the operator can find and fix it.

import { constants as fsConstants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { smarthostParts } from "../queue/config.js";
import { DEFAULT_LIMITS } from "../sieve/limits.js";
import { parseNetwork } from "../trust/greylist.js";
import { applyCaptureDefaults, defaultConfig, LISTENER_NAMES } from "./defaults.js";
import { envName, FIELDS, type Field, RETIRED_KEYS, tomlKey } from "./schema.js";
import { closestMatch } from "./suggest.js";
import type { Config, ListenerName } from "./types.js";
import { parseDuration, parseSize } from "./units.js";

export class ConfigError extends Error {
  /** Every problem found, each naming its key; `message` joins them on one line. */
  readonly issues: readonly string[];

  constructor(issues: string[]) {
    const [first] = issues;
    super(
      issues.length === 1 && first !== undefined
        ? first
        : `${issues.length} configuration problems: ${issues.join("; ")}`,
    );
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** Names a config file instead of --config. Variables under MAILROOM_TEST_ belong to the test suites. */
const CONFIG_FILE_VARIABLE = "MAILROOM_CONFIG";
const RESERVED_ENV_PREFIX = "MAILROOM_TEST_";

/** `base`: what relative paths resolve against, when not the file's directory (settings given in code). */
type Source = { kind: "file"; file: string; base?: string } | { kind: "env"; name: string };
type Converted = { ok: true; value: unknown } | { ok: false; expected: string };

/** A TOML table in the schema: child key (snake_case) → nested table or leaf field. */
type SchemaTable = Map<string, SchemaTable | Field>;

function buildSchemaTree(): SchemaTable {
  const root: SchemaTable = new Map();
  for (const field of FIELDS) {
    const keys = tomlKey(field).split(".");
    let table = root;
    for (const key of keys.slice(0, -1)) {
      let next = table.get(key);
      if (!(next instanceof Map)) {
        next = new Map();
        table.set(key, next);
      }
      table = next;
    }
    table.set(keys[keys.length - 1] ?? "", field);
  }
  return root;
}

const SCHEMA = buildSchemaTree();
const FIELDS_BY_ENV = new Map(FIELDS.map((field) => [envName(field), field]));
const RETIRED_BY_ENV = new Map(
  [...RETIRED_KEYS].map(([key, replacement]) => [envName({ path: key.split(".") }), replacement]),
);

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "a table";
  return String(value);
}

function expectation(field: Field): string {
  const kind = field.kind;
  if (field.rule) return field.rule;
  switch (kind.type) {
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "integer":
      if (kind.max !== undefined) return `an integer from ${kind.min} to ${kind.max}`;
      return kind.min === 1 ? "a positive integer" : `an integer of at least ${kind.min}`;
    case "duration":
      return `a duration in milliseconds or like "30s", "5m", "1h"${kind.min > 0 ? ", greater than 0" : ""}`;
    case "durations":
      return 'a non-empty list of durations, like ["5m", "1h"] (or "5m,1h" in the environment)';
    case "domains":
      return 'a list of domain names, like ["lists.example.org"] (or comma-separated in the environment)';
    case "networks":
      return 'a list of networks, like ["192.0.2.0/24", "2001:db8::/32"] (or comma-separated in the environment)';
    case "size":
      return `a size in bytes or like "25MB", "10KiB"${kind.min > 0 ? ", greater than 0" : ""}`;
    case "enum":
      return `one of ${kind.values.map((value) => JSON.stringify(value)).join(", ")}`;
    case "path":
      return "a file path";
  }
}

const ENV_TRUE = new Set(["true", "1", "yes", "on"]);
const ENV_FALSE = new Set(["false", "0", "no", "off"]);

function convert(raw: unknown, field: Field, source: Source): Converted {
  const fail: Converted = { ok: false, expected: expectation(field) };
  const fromEnv = source.kind === "env";
  const kind = field.kind;
  switch (kind.type) {
    case "string":
      if (typeof raw !== "string") return fail;
      return { ok: true, value: raw === "" && kind.nullable ? null : raw };
    case "boolean":
      if (typeof raw === "boolean") return { ok: true, value: raw };
      if (fromEnv && typeof raw === "string") {
        const word = raw.trim().toLowerCase();
        if (ENV_TRUE.has(word)) return { ok: true, value: true };
        if (ENV_FALSE.has(word)) return { ok: true, value: false };
      }
      return fail;
    case "enum":
      return typeof raw === "string" && kind.values.includes(raw) ? { ok: true, value: raw } : fail;
    case "integer": {
      let value: number | null = null;
      if (typeof raw === "number" && Number.isSafeInteger(raw)) value = raw;
      if (fromEnv && typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw)) value = Number(raw);
      if (value === null || value < kind.min || (kind.max !== undefined && value > kind.max)) return fail;
      return { ok: true, value };
    }
    case "duration":
    case "size": {
      let value: number | null = null;
      if (typeof raw === "number" && Number.isSafeInteger(raw)) value = raw;
      if (typeof raw === "string") value = kind.type === "duration" ? parseDuration(raw) : parseSize(raw);
      if (value === null || value < kind.min) return fail;
      return { ok: true, value };
    }
    case "durations": {
      const items = fromEnv && typeof raw === "string" ? raw.split(",") : raw;
      if (!Array.isArray(items) || items.length === 0) return fail;
      const values: number[] = [];
      for (const item of items) {
        const value =
          typeof item === "number" && Number.isSafeInteger(item)
            ? item
            : typeof item === "string"
              ? parseDuration(item.trim())
              : null;
        if (value === null || value < kind.min) return fail;
        values.push(value);
      }
      return { ok: true, value: values };
    }
    case "domains": {
      const items = fromEnv && typeof raw === "string" ? raw.split(",").filter((item) => item.trim()) : raw;
      if (!Array.isArray(items)) return fail;
      const names: string[] = [];
      for (const item of items) {
        if (typeof item !== "string" || !/^[a-z0-9.-]+$/i.test(item.trim())) return fail;
        names.push(item.trim().toLowerCase().replace(/\.$/, ""));
      }
      return { ok: true, value: names };
    }
    case "networks": {
      const items = fromEnv && typeof raw === "string" ? raw.split(",").filter((item) => item.trim()) : raw;
      if (!Array.isArray(items)) return fail;
      const networks: string[] = [];
      for (const item of items) {
        const network = typeof item === "string" ? parseNetwork(item.trim()) : null;
        if (network === null) return fail;
        networks.push(network.text);
      }
      return { ok: true, value: networks };
    }
    case "path": {
      if (typeof raw !== "string") return fail;
      if (raw === "") return kind.nullable ? { ok: true, value: null } : fail;
      const base = source.kind === "file" ? (source.base ?? path.dirname(source.file)) : process.cwd();
      return { ok: true, value: path.resolve(base, raw) };
    }
  }
}

/** Where each key got its value, for messages about keys that are only wrong in combination. */
class Origins {
  private readonly where = new Map<string, string>();

  set(field: Pick<Field, "path">, source: Source | "option"): void {
    const key = tomlKey(field);
    if (source === "option") this.where.set(key, "--data-dir");
    else this.where.set(key, source.kind === "env" ? source.name : `${key} in ${source.file}`);
  }

  describe(pathParts: readonly string[]): string {
    const key = tomlKey({ path: pathParts });
    return this.where.get(key) ?? key;
  }
}

function setAt(config: Config, pathParts: readonly string[], value: unknown): void {
  let target = config as unknown as Record<string, unknown>;
  for (const part of pathParts.slice(0, -1)) target = target[part] as Record<string, unknown>;
  target[pathParts[pathParts.length - 1] ?? ""] = value;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}

function unknownKeyHint(key: string, table: SchemaTable, prefix: string): string {
  const sibling = closestMatch(key, table.keys());
  if (sibling) return `; did you mean ${prefix}${sibling}?`;
  const elsewhere = FIELDS.map(tomlKey).find((full) => full.endsWith(`.${key}`) || full === key);
  return elsewhere ? `; did you mean ${elsewhere}?` : "";
}

function applyTable(
  config: Config,
  values: Record<string, unknown>,
  table: SchemaTable,
  prefix: string,
  file: string,
  origins: Origins,
  issues: string[],
  base?: string,
): void {
  for (const [key, raw] of Object.entries(values)) {
    const entry = table.get(key);
    const fullKey = `${prefix}${key}`;
    const retired = RETIRED_KEYS.get(fullKey);
    if (retired !== undefined) {
      issues.push(`${fullKey} in ${file} is no longer supported: ${retired}`);
    } else if (entry === undefined) {
      issues.push(`unknown key ${fullKey} in ${file}${unknownKeyHint(key, table, prefix)}`);
    } else if (entry instanceof Map) {
      if (isTable(raw)) applyTable(config, raw, entry, `${fullKey}.`, file, origins, issues, base);
      else issues.push(`${fullKey} in ${file} must be a table ([${fullKey}]), got ${describeValue(raw)}`);
    } else {
      const source: Source = base === undefined ? { kind: "file", file } : { kind: "file", file, base };
      const result = convert(raw, entry, source);
      if (result.ok) {
        setAt(config, entry.path, result.value);
        origins.set(entry, source);
      } else {
        issues.push(`${fullKey} in ${file} must be ${result.expected}, got ${describeValue(raw)}`);
      }
    }
  }
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError([`cannot read config file ${file} (${code}); check the --config path`]);
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0] ?? "syntax error";
      throw new ConfigError([
        `config file ${file} is not valid TOML (line ${error.line}, column ${error.column}): ${reason}`,
      ]);
    }
    throw error;
  }
}

function applyEnv(
  config: Config,
  env: NodeJS.ProcessEnv,
  origins: Origins,
  issues: string[],
  warnings: string[],
): void {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("MAILROOM_") || raw === undefined) continue;
    if (name === CONFIG_FILE_VARIABLE || name.startsWith(RESERVED_ENV_PREFIX)) continue;
    const field = FIELDS_BY_ENV.get(name);
    const retired = RETIRED_BY_ENV.get(name);
    if (retired !== undefined) {
      issues.push(`${name} is no longer supported: ${retired}`);
      continue;
    }
    if (!field) {
      // Only a warning: deploy scripts and other tools set MAILROOM_* variables of their own, and a
      // mail server must not stay down for one. An unknown key in the file stays an error.
      const hint = closestMatch(name, FIELDS_BY_ENV.keys());
      warnings.push(`ignoring unknown environment variable ${name}${hint ? `; did you mean ${hint}?` : ""}`);
      continue;
    }
    const source: Source = { kind: "env", name };
    const result = convert(raw, field, source);
    if (result.ok) {
      setAt(config, field.path, result.value);
      origins.set(field, source);
    } else {
      issues.push(`${name} must be ${result.expected}, got ${describeValue(raw)}`);
    }
  }
}

// RFC 1123 §2.1 host names: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

async function checkReadableFile(file: string): Promise<string | null> {
  try {
    await access(file, fsConstants.R_OK);
    const info = await stat(file);
    return info.isFile() ? null : "is not a regular file";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    return code === "ENOENT" ? "does not exist" : `cannot be read (${code})`;
  }
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", ""]);

/** Listeners that exist for users to log in (submission, mail reading): "off" would leave them useless. */
const LOGIN_LISTENERS: ReadonlySet<ListenerName> = new Set([
  "submission",
  "submissions",
  "pop3",
  "pop3s",
  "imap",
  "imaps",
  "http",
  "https",
  "managesieve",
]);

async function validate(config: Config, origins: Origins, issues: string[]): Promise<void> {
  if (!HOST_NAME.test(config.hostname)) {
    issues.push(
      `${origins.describe(["hostname"])} must be a host name such as mail.example.org, got ${JSON.stringify(config.hostname)}`,
    );
  }
  if (config.store !== "sqlite" && !/^postgres(ql)?:\/\/./.test(config.store)) {
    issues.push(
      `${origins.describe(["store"])} must be "sqlite" or a postgres:// URL, got ${JSON.stringify(config.store)}`,
    );
  }

  const scriptSize = config.managesieve?.maxScriptSize;
  if (scriptSize !== undefined && scriptSize > DEFAULT_LIMITS.maxScriptSize) {
    // Delivery compiles scripts under the engine's bound: a larger one could be stored but never run.
    issues.push(
      `${origins.describe(["managesieve", "maxScriptSize"])} must be at most ${DEFAULT_LIMITS.maxScriptSize} octets (1MiB, the Sieve engine's limit), got ${scriptSize}`,
    );
  }

  const bound = new Map<string, string>();
  for (const name of LISTENER_NAMES) {
    const listener = config.listeners[name];
    if (net.isIP(listener.host) === 0 && !HOST_NAME.test(listener.host)) {
      issues.push(
        `${origins.describe(["listeners", name, "host"])} must be an IP address or host name, got ${JSON.stringify(listener.host)}`,
      );
    }
    if (listener.enabled && listener.auth === "off" && LOGIN_LISTENERS.has(name)) {
      issues.push(
        `${origins.describe(["listeners", name, "auth"])} is "off", which leaves no way to log in on the ${name} listener; use "tls", or disable the listener with enabled = false`,
      );
    }
    if (!listener.enabled || listener.port === 0) continue;
    const portKey = origins.describe(["listeners", name, "port"]);
    for (const [other, otherKey] of bound) {
      const [otherHost, otherPort] = other.split(" ");
      const sameHost =
        otherHost === listener.host ||
        WILDCARD_HOSTS.has(otherHost ?? "") ||
        WILDCARD_HOSTS.has(listener.host);
      if (sameHost && Number(otherPort) === listener.port) {
        issues.push(
          `${portKey} and ${otherKey} both use port ${listener.port}; give each listener its own port`,
        );
      }
    }
    bound.set(`${listener.host} ${listener.port}`, portKey);
  }

  const { cert, key } = config.tls;
  if ((cert === null) !== (key === null)) {
    const missing = cert === null ? "tls.cert" : "tls.key";
    const present = cert === null ? origins.describe(["tls", "key"]) : origins.describe(["tls", "cert"]);
    issues.push(
      `${present} is set but ${missing} is not; set both, or neither for a self-signed certificate`,
    );
  }
  for (const [name, file] of [
    ["cert", cert],
    ["key", key],
  ] as const) {
    if (file === null) continue;
    const problem = await checkReadableFile(file);
    if (problem) issues.push(`${origins.describe(["tls", name])}: the file ${file} ${problem}`);
  }

  const relay = config.relay;
  if (relay.smarthost !== null && smarthostParts(relay.smarthost) === null) {
    issues.push(
      `${origins.describe(["relay", "smarthost"])} must be "host:port" (e.g. "smtp.provider.example:587"), got ${JSON.stringify(relay.smarthost)}`,
    );
  }
  if (
    relay.smarthostUser !== null &&
    relay.smarthostPasswordFile === null &&
    relay.smarthostPassword === null
  ) {
    issues.push(
      `${origins.describe(["relay", "smarthostUser"])} is set but there is no password; set relay.smarthost_password_file or MAILROOM_RELAY_SMARTHOST_PASSWORD`,
    );
  }
  if (relay.smarthostPasswordFile !== null) {
    const problem = await checkReadableFile(relay.smarthostPasswordFile);
    if (problem) {
      issues.push(
        `${origins.describe(["relay", "smarthostPasswordFile"])}: the file ${relay.smarthostPasswordFile} ${problem}`,
      );
    }
  }
  if (relay.tlsCaFile !== null) {
    const problem = await checkReadableFile(relay.tlsCaFile);
    if (problem)
      issues.push(`${origins.describe(["relay", "tlsCaFile"])}: the file ${relay.tlsCaFile} ${problem}`);
  }
}

const SETTINGS_ORIGIN = "the createServer() settings";

export async function loadConfig(options: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  /**
   * Settings given in code (createServer): a table shaped like mailroom.toml, snake_case keys, applied
   * after the file and before the environment; relative paths resolve against the working directory.
   */
  settings?: Record<string, unknown>;
  /** Told each problem that does not stop the start (an unknown MAILROOM_* variable). */
  onWarning?: (message: string) => void;
  /** Developer capture mode: its defaults (applyCaptureDefaults) go under the file and environment. */
  capture?: boolean;
}): Promise<Config> {
  const env = options.env ?? process.env;
  const config = defaultConfig();
  if (options.capture) applyCaptureDefaults(config);
  const origins = new Origins();
  const issues: string[] = [];
  const warnings: string[] = [];

  const fileOption = options.file ?? (env[CONFIG_FILE_VARIABLE] || undefined);
  if (fileOption !== undefined) {
    const file = path.resolve(fileOption);
    const values = await readConfigFile(file);
    applyTable(config, values, SCHEMA, "", file, origins, issues);
  }
  if (options.settings !== undefined) {
    applyTable(config, options.settings, SCHEMA, "", SETTINGS_ORIGIN, origins, issues, process.cwd());
  }
  applyEnv(config, env, origins, issues, warnings);
  if (options.dataDir !== undefined) {
    config.dataDir = path.resolve(options.dataDir);
    origins.set({ path: ["dataDir"] }, "option");
  }
  await validate(config, origins, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  for (const warning of warnings) options.onWarning?.(warning);
  return config;
}
