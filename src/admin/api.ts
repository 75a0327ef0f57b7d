// The web admin's JSON API under /admin/api (issue 16), sans IO: a parsed request of an admin user in,
// a status and a JSON body (or an RFC 7807 problem) out. Every operation is the admin service's, the
// same the CLI runs. http/handler.ts authenticates, checks the admin role and reads the body first.
// Below /me is the self-service part (issue 15, the webmail's settings): any logged-in user, acting
// on their own account only — its password and app passwords.
//
// A request that changes something must carry its body as application/json (an empty object will do):
// a page elsewhere can send a form or text/plain to this origin without asking, never JSON, so a
// browser that remembers Basic credentials cannot be made to act for its admin (no CORS is offered).

import { problem } from "../http/problem.js";
import { type AdminActor, AdminError, type AdminService, type ServerRuntime } from "./service.js";

export interface AdminRequest {
  method: string;
  /** The path below /admin/api, e.g. "/domains/example.org/records", still percent-encoded. */
  path: string;
  query: URLSearchParams;
  /** The media type the client gave its body, without parameters, lower-cased; null when none. */
  contentType: string | null;
  body: Buffer;
  /**
   * Who is asking: what the self-service part under /me acts on, and only that; an admin may not
   * disable, demote or remove their own account. Null for the server's control socket
   * (src/server/control.ts), which answers only the status.
   */
  caller: Caller | null;
}

/** The logged-in user as the self-service part needs them. */
export interface Caller extends AdminActor {
  /** Logged in with an app password rather than the account password. */
  viaToken: boolean;
  /**
   * Checks the caller's account password as a login does, through the authenticator (the same throttle,
   * delay and failure count); null when it is right, else the very answer a failed login gets.
   */
  checkPassword(password: string): Promise<AdminResponse | null>;
}

export interface AdminResponse {
  status: number;
  /** A JSON value, a Problem for errors; null for 204. */
  body: unknown;
  headers?: Record<string, string>;
}

export interface AdminApiDeps {
  service: AdminService;
  runtime: ServerRuntime;
  /** Asks the queue runner to look at the queue now, after a retry. */
  wakeQueue?: () => void;
}

type Json = Record<string, unknown>;

const STATUS_OF: Record<AdminError["code"], number> = {
  invalid: 400,
  "not-found": 404,
  exists: 409,
  conflict: 409,
  incomplete: 500,
};

const TITLE_OF: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
};

function fail(status: number, detail: string, extra: Record<string, unknown> = {}): AdminResponse {
  return { status, body: problem(status, TITLE_OF[status] ?? "Error", detail, extra) };
}

class BadInput extends Error {}

function field(body: Json, name: string): string {
  const value = body[name];
  if (typeof value !== "string") throw new BadInput(`"${name}" must be a string`);
  return value;
}

function optionalField(body: Json, name: string): string | undefined {
  return body[name] === undefined ? undefined : field(body, name);
}

/** A string, or null for "none"; undefined when the field is not there. */
function nullableField(body: Json, name: string): string | null | undefined {
  return body[name] === null ? null : optionalField(body, name);
}

function flag(body: Json, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new BadInput(`"${name}" must be true or false`);
  return value;
}

function addressList(value: unknown, name: string): string[] {
  if (value === undefined || value === null || value === "") return [];
  const list = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(list) || !list.every((each) => typeof each === "string")) {
    throw new BadInput(`"${name}" must be a list of IP addresses`);
  }
  return list.map((each) => each.trim()).filter(Boolean);
}

function parseBody(request: AdminRequest): Json {
  if (request.body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body.toString("utf8"));
  } catch {
    throw new BadInput("the request body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new BadInput("the request body must be a JSON object");
  }
  return parsed as Json;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadInput(`'${part}' is not a valid URL path segment`);
  }
}

interface Route {
  /** Method → what it does; a path matched with a method not here is a 405. */
  methods: Partial<
    Record<
      string,
      (
        params: string[],
        body: Json,
        query: URLSearchParams,
        by: AdminActor | undefined,
      ) => Promise<AdminResponse>
    >
  >;
  pattern: RegExp;
}

const ok = (body: unknown): AdminResponse => ({ status: 200, body });
const created = (body: unknown): AdminResponse => ({ status: 201, body });
const noContent: AdminResponse = { status: 204, body: null };

function routes(deps: AdminApiDeps): Route[] {
  const { service } = deps;
  const segment = "([^/]+)";
  const at = (path: string) => new RegExp(`^${path}/?$`);
  return [
    { pattern: at("/status"), methods: { GET: async () => ok(await service.status(deps.runtime)) } },
    {
      pattern: at("/domains"),
      methods: {
        GET: async () => ok({ domains: await service.listDomains() }),
        POST: async (_, body) =>
          created(await service.addDomain(field(body, "name"), addressList(body.addresses, "addresses"))),
      },
    },
    {
      pattern: at(`/domains/${segment}`),
      methods: {
        DELETE: async ([name]) => {
          await service.removeDomain(name as string);
          return noContent;
        },
      },
    },
    {
      pattern: at(`/domains/${segment}/check`),
      methods: { GET: async ([name]) => ok({ findings: await service.checkDomainDns(name as string) }) },
    },
    {
      pattern: at(`/domains/${segment}/records`),
      methods: {
        GET: async ([name], _, query) =>
          ok(await service.domainRecords(name as string, addressList(query.get("addresses"), "addresses"))),
      },
    },
    {
      pattern: at("/users"),
      methods: {
        GET: async (_, __, query) => ok({ users: await service.listUsers(query.get("domain") ?? undefined) }),
        POST: async (_, body) =>
          created(
            await service.addUser(field(body, "address"), field(body, "password"), {
              admin: flag(body, "admin") === true,
              name: nullableField(body, "name") ?? null,
            }),
          ),
      },
    },
    {
      pattern: at(`/users/${segment}`),
      methods: {
        DELETE: async ([address], _, __, by) => {
          await service.removeUser(address as string, by);
          return noContent;
        },
      },
    },
    {
      pattern: at(`/users/${segment}/password`),
      methods: {
        PUT: async ([address], body) => {
          await service.setPassword(address as string, field(body, "password"));
          return noContent;
        },
      },
    },
    {
      pattern: at(`/users/${segment}/admin`),
      methods: {
        PUT: async ([address], body, _, by) => {
          const admin = flag(body, "admin");
          if (admin === undefined) throw new BadInput(`"admin" must be true or false`);
          return ok(await service.setAdmin(address as string, admin, by));
        },
      },
    },
    {
      pattern: at(`/users/${segment}/name`),
      methods: {
        PUT: async ([address], body) => {
          const name = nullableField(body, "name");
          if (name === undefined) throw new BadInput(`"name" must be a string or null`);
          return ok(await service.setName(address as string, name));
        },
      },
    },
    {
      pattern: at(`/users/${segment}/disabled`),
      methods: {
        PUT: async ([address], body, _, by) => {
          const disabled = flag(body, "disabled");
          if (disabled === undefined) throw new BadInput(`"disabled" must be true or false`);
          return ok(await service.setDisabled(address as string, disabled, by));
        },
      },
    },
    {
      pattern: at(`/users/${segment}/tokens`),
      methods: {
        GET: async ([address]) => ok({ tokens: await service.listTokens(address as string) }),
        POST: async ([address], body) =>
          created(await service.createToken(address as string, field(body, "name"))),
      },
    },
    {
      pattern: at(`/users/${segment}/tokens/${segment}`),
      methods: {
        DELETE: async ([address, id]) => {
          await service.revokeToken(address as string, id as string);
          return noContent;
        },
      },
    },
    {
      pattern: at(`/users/${segment}/quota`),
      methods: {
        GET: async ([address]) => ok(await service.quota(address as string)),
        PUT: async ([address], body) => {
          const limit = body.limit;
          if (limit !== null && typeof limit !== "number") {
            throw new BadInput(`"limit" must be a number of octets, or null for none`);
          }
          return ok(await service.setQuota(address as string, limit));
        },
      },
    },
    {
      pattern: at("/aliases"),
      methods: {
        GET: async (_, __, query) =>
          ok({ aliases: await service.listAliases(query.get("domain") ?? undefined) }),
        POST: async (_, body) =>
          created(await service.addAlias(field(body, "source"), field(body, "destination"))),
      },
    },
    {
      pattern: at(`/aliases/${segment}`),
      methods: {
        DELETE: async ([source], _, query) =>
          ok({ removed: await service.removeAlias(source as string, query.get("destination") ?? undefined) }),
      },
    },
    { pattern: at("/queue"), methods: { GET: async () => ok({ entries: await service.listQueue() }) } },
    {
      pattern: at("/queue/retry"),
      methods: {
        POST: async (_, body) => retried(deps, await service.retryQueue(optionalField(body, "id"))),
      },
    },
    {
      pattern: at(`/queue/${segment}`),
      methods: {
        GET: async ([id]) => ok(await service.showQueueEntry(id as string)),
        DELETE: async ([id], _, query) =>
          ok({
            removed: await service.deleteQueueEntry(id as string, { force: query.get("force") === "true" }),
          }),
      },
    },
    {
      pattern: at(`/queue/${segment}/retry`),
      methods: { POST: async ([id]) => retried(deps, await service.retryQueue(id as string)) },
    },
  ];
}

/**
 * The self-service part: any logged-in user, on their own account only. No path here names an account,
 * so none can reach another one; each operation is the admin service's, as `mailroom user passwd` and
 * `mailroom token` run it.
 */
function selfRoutes(deps: AdminApiDeps, caller: Caller): Route[] {
  const { service } = deps;
  const at = (path: string) => new RegExp(`^/me${path}/?$`);
  // A leaked app password must not be able to make itself a successor the owner never sees coming.
  const byPassword = () => {
    if (caller.viaToken) {
      return fail(
        403,
        "app passwords are managed when logged in with the account password, not an app password",
      );
    }
    return null;
  };
  return [
    { pattern: at(""), methods: { GET: async () => ok(await service.showUser(caller.address)) } },
    {
      pattern: at("/password"),
      methods: {
        PUT: async (_, body) => {
          // The current password first, so a wrong one always gets a failed login's answer.
          const refused = await caller.checkPassword(field(body, "currentPassword"));
          if (refused !== null) return refused;
          await service.setPassword(caller.address, field(body, "password"));
          if (flag(body, "revokeAppPasswords") === true) {
            for (const token of await service.listTokens(caller.address)) {
              await service.revokeToken(caller.address, token.id);
            }
          }
          return noContent;
        },
      },
    },
    {
      pattern: at("/app-passwords"),
      methods: {
        GET: async () => ok({ tokens: await service.listTokens(caller.address) }),
        POST: async (_, body) =>
          byPassword() ?? created(await service.createToken(caller.address, field(body, "name"))),
      },
    },
    {
      pattern: at("/app-passwords/([^/]+)"),
      methods: {
        DELETE: async ([id]) => {
          const refused = byPassword();
          if (refused !== null) return refused;
          await service.revokeToken(caller.address, id as string);
          return noContent;
        },
      },
    },
  ];
}

/** Whether a path below /admin/api is the self-service part, open to every logged-in user. */
export function isSelfServicePath(path: string): boolean {
  return path === "/me" || path.startsWith("/me/");
}

function retried(deps: AdminApiDeps, due: number): AdminResponse {
  if (due > 0) deps.wakeQueue?.();
  return ok({ due });
}

const CHANGES = new Set(["POST", "PUT", "DELETE", "PATCH"]);

export function createAdminApi(deps: AdminApiDeps) {
  const table = routes(deps);
  return async function answer(request: AdminRequest): Promise<AdminResponse> {
    const method = request.method === "HEAD" ? "GET" : request.method;
    const self = isSelfServicePath(request.path);
    // The control socket has no caller, so no /me.
    const here = !self ? table : request.caller === null ? [] : selfRoutes(deps, request.caller);
    for (const route of here) {
      const match = route.pattern.exec(request.path);
      if (!match) continue;
      const run = route.methods[method];
      if (run === undefined) {
        const allow = Object.keys(route.methods).join(", ");
        return { ...fail(405, `${request.path} takes ${allow}`), headers: { Allow: allow } };
      }
      if (CHANGES.has(method) && request.contentType !== "application/json") {
        return fail(
          415,
          "a request that changes something must send its body as application/json ({} will do)",
        );
      }
      try {
        const params = match.slice(1).map(decode);
        return await run(
          params,
          CHANGES.has(method) ? parseBody(request) : {},
          request.query,
          request.caller ?? undefined,
        );
      } catch (error) {
        if (error instanceof BadInput) return fail(400, error.message);
        if (error instanceof AdminError)
          return fail(STATUS_OF[error.code], error.message, { code: error.code });
        throw error;
      }
    }
    return fail(404, `there is no admin API at /admin/api${request.path}; see README.md (Admin API)`);
  };
}

export type AdminApi = ReturnType<typeof createAdminApi>;
