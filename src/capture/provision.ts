// Capture mode's accounts: every address mail is sent to, and every name a client logs in with, is a
// user of its own, made on first use. The catch-all account gets a copy of everything captured.

import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { hashPassword } from "../auth/password.js";
import { splitAddress } from "../delivery/route.js";
import { type Store, StoreError, type User } from "../store/types.js";

/** Where login names without a domain live; RFC 6761 reserves "localhost", so no real mail goes there. */
const LOCAL_DOMAIN = "localhost";
/** The catch-all account's address; "dev" (so dev@localhost) and "all" log in as it. */
export const CATCH_ALL_ADDRESS = `dev@${LOCAL_DOMAIN}`;

export interface Provisioner {
  /** The user for this address, made (with its domain) when missing; null for no storable address. */
  ensureUser(address: string): Promise<User | null>;
  /** The user a login name names (made): an address is itself, "all" the catch-all, "x" x@localhost. */
  loginUser(name: string): Promise<User | null>;
}

export function createProvisioner(store: Pick<Store, "directory">, logger: Logger): Provisioner {
  // One creation per address at a time in this process: concurrent RCPTs for one address share it.
  const making = new Map<string, Promise<User | null>>();

  async function ensureDomain(domain: string): Promise<void> {
    if ((await store.directory.getDomain(domain)) !== null) return;
    try {
      await store.directory.addDomain(domain);
      logger.info({ domain }, "capture: domain added");
    } catch (err) {
      if (!(err instanceof StoreError && err.code === "exists")) throw err;
    }
  }

  async function make(address: string): Promise<User | null> {
    const parts = splitAddress(address);
    if (parts === null) return null;
    try {
      const existing = await store.directory.getUser(address);
      if (existing !== null) return existing;
      await ensureDomain(parts.domain);
      // Nobody knows this password: capture mode takes any, and outside capture mode nothing gets in.
      const user = await store.directory.addUser(
        address,
        await hashPassword(randomBytes(24).toString("base64")),
      );
      logger.info({ address: user.address }, "capture: inbox created");
      return user;
    } catch (err) {
      if (err instanceof StoreError && err.code === "invalid") return null;
      // Another node or process made it first.
      if (err instanceof StoreError && err.code === "exists") return store.directory.getUser(address);
      throw err;
    }
  }

  function ensureUser(raw: string): Promise<User | null> {
    const address = raw.trim().toLowerCase();
    let pending = making.get(address);
    if (pending === undefined) {
      pending = make(address).finally(() => making.delete(address));
      making.set(address, pending);
    }
    return pending;
  }

  return {
    ensureUser,
    loginUser(name) {
      const normalized = name.trim().toLowerCase();
      if (normalized === "all") return ensureUser(CATCH_ALL_ADDRESS);
      // Test code often logs in with a bare name ("user", "test"): Mailpit takes it, so it is a user here.
      return ensureUser(normalized.includes("@") ? normalized : `${normalized}@${LOCAL_DOMAIN}`);
    },
  };
}
