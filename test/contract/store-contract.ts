// The store contract: what every Store backend must do, written against the Store interface only and
// organised by part (one file each). A backend's test file calls runStoreContract with a function that
// opens a fresh, empty store.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe } from "node:test";
import type { Mailbox, MailboxEvent, Store, User } from "../../src/store/types.js";
import { describeAppTokensContract } from "./app-tokens.js";
import { describeBlobsContract } from "./blobs.js";
import { describeDirectoryContract } from "./directory.js";
import { describeEmailsContract } from "./emails.js";
import { describeEventsContract } from "./events.js";
import { describeFilterContract } from "./filter.js";
import { describeIdentitiesContract } from "./identities.js";
import { describeImport } from "./import.js";
import { describeLocksContract } from "./locks.js";
import { describeMailboxesContract } from "./mailboxes.js";
import { describeMessagesContract } from "./messages.js";
import { describeMetadataContract } from "./metadata.js";
import { describeMtaStsContract } from "./mta-sts.js";
import { describePushSubscriptionsContract } from "./push-subscriptions.js";
import { describeQueueContract } from "./queue.js";
import { describeQuotasContract } from "./quotas.js";
import { describeSearchContract } from "./search.js";
import { describeSieveScriptsContract } from "./sieve-scripts.js";
import { describeSubmissionsContract } from "./submissions.js";
import { type ContractContext, CREDENTIALS, message, writeBlob } from "./support.js";
import { describeTracesContract } from "./traces.js";
import { describeUploadsContract } from "./uploads.js";
import { describeUrlAuthKeysContract } from "./url-auth-keys.js";
import { describeVacationContract } from "./vacation.js";

type OpenStore = () => Promise<{ store: Store; cleanup(): Promise<void> }>;

export function runStoreContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let counter = 0;

    before(async () => {
      ({ store, cleanup } = await open());
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    /** A fresh domain and user per test, so tests share one store without seeing each other. */
    async function freshUser(): Promise<{ domain: string; user: User; inbox: Mailbox }> {
      counter += 1;
      const domain = `d${counter}-${randomBytes(3).toString("hex")}.example`;
      await store.directory.addDomain(domain);
      const user = await store.directory.addUser(`user@${domain}`, CREDENTIALS);
      const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
      assert.ok(inbox);
      return { domain, user, inbox };
    }

    async function deliverTo(mailboxId: number, subject: string, flags?: string[]) {
      const blob = await writeBlob(store, message(subject));
      const result = await store.messages.deliver({
        blob,
        sender: "a@example.net",
        internalDate: new Date(),
        mailboxes: [flags ? { mailboxId, flags } : { mailboxId }],
        queue: [],
      });
      return { blob, uid: result.uids[0]!.uid };
    }

    function collectEvents(): { events: MailboxEvent[]; stop: () => void } {
      const events: MailboxEvent[] = [];
      const stop = store.events.subscribe((event) => events.push(event));
      return { events, stop };
    }

    const context: ContractContext = { store: () => store, freshUser, deliverTo, collectEvents };
    describeDirectoryContract(context);
    describeAppTokensContract(context);
    describeMailboxesContract(context);
    describeMessagesContract(context);
    describeEmailsContract(context);
    describeBlobsContract(context);
    describeUploadsContract(context);
    describeQueueContract(context);
    describeIdentitiesContract(context);
    describeSubmissionsContract(context);
    describeLocksContract(context);
    describeVacationContract(context);
    describeMetadataContract(context);
    describeUrlAuthKeysContract(context);
    describeQuotasContract(context);
    describeSearchContract(context);
    describeSieveScriptsContract(context);
    describeMtaStsContract(context);
    describeFilterContract(context);
    describePushSubscriptionsContract(context);
    describeTracesContract(context);
    describeEventsContract(context);
    describeImport(context);
  });
}
