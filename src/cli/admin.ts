// What `mailroom domain|user|alias|queue` share: the admin service (src/admin/service.ts, the code path
// the web admin takes too) over the store the command opened, its refusals turned into CLI errors that
// say what to do in this program's words.

import { AdminError, type AdminService, createAdminService } from "../admin/service.js";
import { version } from "../server/version.js";
import type { ParsedArgs } from "./args.js";
import { CliError, type CliIo } from "./command.js";
import { type CliContext, withStore } from "./context.js";

export function cliErrorOf(error: AdminError): CliError {
  return new CliError(error.hint === null ? error.message : `${error.message}; ${error.hint}`);
}

/** Runs `action` with the admin service over the command's store; AdminErrors become CliErrors. */
export function withAdmin<T>(
  values: ParsedArgs["values"],
  io: CliIo,
  action: (context: CliContext & { admin: AdminService }) => Promise<T>,
): Promise<T> {
  return withStore(values, io, async (context) => {
    const admin = createAdminService({
      store: context.store,
      hostname: context.config.hostname,
      version: version(),
    });
    try {
      return await action({ ...context, admin });
    } catch (error) {
      if (error instanceof AdminError) throw cliErrorOf(error);
      throw error;
    }
  });
}
