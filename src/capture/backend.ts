// What the Mailpit API core runs on in a server: the JMAP dispatcher for the catch-all and the
// recipient accounts, and the blobs part for raw messages.

import type { Readable } from "node:stream";
import { accountFor } from "../jmap/account.js";
import type { Dispatcher } from "../jmap/dispatcher.js";
import type { AccountContext } from "../jmap/types.js";
import type { Store } from "../store/types.js";
import type { MailpitBackend } from "./mailpit.js";
import { CATCH_ALL_ADDRESS, type Provisioner } from "./provision.js";

export function createMailpitBackend(options: {
  store: Pick<Store, "directory" | "blobs">;
  dispatcher: Dispatcher;
  provisioner: Provisioner;
}): MailpitBackend {
  const { store, dispatcher, provisioner } = options;
  const account = (user: { id: number; address: string }): AccountContext =>
    accountFor({ userId: user.id, address: user.address });
  return {
    async catchAll() {
      const user = await provisioner.ensureUser(CATCH_ALL_ADDRESS);
      if (user === null) throw new Error(`the catch-all ${CATCH_ALL_ADDRESS} cannot be created`);
      return account(user);
    },
    async accounts() {
      return (await store.directory.listUsers()).map(account);
    },
    async jmap(on, request) {
      const result = await dispatcher.dispatch(request, on);
      if (result.kind === "error") throw new Error(`JMAP request refused: ${JSON.stringify(result.error)}`);
      return result.response.methodResponses;
    },
    async readBlob(on, blobId) {
      const blob = await store.blobs.findReadableBlob(on.userId, blobId, new Date());
      if (blob === null) return null;
      return collect(store.blobs.readBlob(blob.blobId));
    },
  };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
