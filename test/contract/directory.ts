// Store contract, part `directory`: domains, DKIM keys, users and aliases.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";
import { DEFAULT_MAILBOXES, type Store } from "../../src/store/types.js";
import { type ContractContext, CREDENTIALS, message, rejectsWith, writeBlob } from "./support.js";

export function describeDirectoryContract(context: ContractContext): void {
  describe("directory", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser, deliverTo } = context;

    describe("domains", () => {
      test("add, get (case-insensitive), list, remove", async () => {
        const domain = await store.directory.addDomain("Contract-Domains.EXAMPLE");
        assert.equal(domain.name, "contract-domains.example");
        assert.ok(domain.createdAt instanceof Date);
        const found = await store.directory.getDomain("CONTRACT-domains.example");
        assert.equal(found?.id, domain.id);
        assert.ok((await store.directory.listDomains()).some((d) => d.name === "contract-domains.example"));
        await store.directory.removeDomain("contract-domains.example");
        assert.equal(await store.directory.getDomain("contract-domains.example"), null);
      });

      test("error codes: exists, not-found, invalid, not-empty", async () => {
        await store.directory.addDomain("dup.example");
        await rejectsWith(store.directory.addDomain("DUP.example"), "exists");
        await rejectsWith(store.directory.removeDomain("never-added.example"), "not-found");
        await rejectsWith(store.directory.addDomain("not a domain"), "invalid");
        await rejectsWith(store.directory.addDomain(""), "invalid");
        const { domain } = await freshUser();
        await rejectsWith(store.directory.removeDomain(domain), "not-empty");
        await store.directory.addDomain("aliased.example");
        await store.directory.addAlias("x@aliased.example", "y@elsewhere.example");
        await rejectsWith(store.directory.removeDomain("aliased.example"), "not-empty");
      });
    });

    describe("DKIM keys", () => {
      const pem = (tag: string) => `-----BEGIN PRIVATE KEY-----\n${tag}\n-----END PRIVATE KEY-----\n`;

      test("set, get (domain case-insensitive), replace on rotation", async () => {
        const { domain } = await freshUser();
        assert.equal(await store.directory.getDkimKey(domain), null);
        const before = Date.now();
        await store.directory.setDkimKey(domain.toUpperCase(), {
          selector: "MR202406",
          privateKeyPem: pem("first"),
          algorithm: "rsa-sha256",
        });
        const first = await store.directory.getDkimKey(domain.toUpperCase());
        assert.ok(first);
        assert.equal(first.selector, "mr202406");
        assert.equal(first.privateKeyPem, pem("first"));
        assert.equal(first.algorithm, "rsa-sha256");
        assert.ok(first.createdAt instanceof Date);
        assert.ok(first.createdAt.getTime() >= before - 5_000);
        await store.directory.setDkimKey(domain, {
          selector: "mr202407",
          privateKeyPem: pem("second"),
          algorithm: "ed25519-sha256",
        });
        const second = await store.directory.getDkimKey(domain);
        assert.deepEqual(
          [second?.selector, second?.privateKeyPem, second?.algorithm],
          ["mr202407", pem("second"), "ed25519-sha256"],
        );
      });

      test("keys are per domain and go with the domain", async () => {
        const a = `dkim-a-${randomBytes(3).toString("hex")}.example`;
        const b = `dkim-b-${randomBytes(3).toString("hex")}.example`;
        await store.directory.addDomain(a);
        await store.directory.addDomain(b);
        await store.directory.setDkimKey(a, {
          selector: "sa",
          privateKeyPem: pem("a"),
          algorithm: "rsa-sha256",
        });
        assert.equal(await store.directory.getDkimKey(b), null);
        await store.directory.removeDomain(a);
        assert.equal(await store.directory.getDkimKey(a), null);
        await store.directory.addDomain(a);
        assert.equal(
          await store.directory.getDkimKey(a),
          null,
          "a re-added domain starts without the old key",
        );
      });

      test("error codes: not-found for an unserved domain, invalid input changes nothing", async () => {
        const { domain } = await freshUser();
        const good = { selector: "s1", privateKeyPem: pem("k"), algorithm: "rsa-sha256" } as const;
        await rejectsWith(store.directory.setDkimKey("unserved-dkim.example", good), "not-found");
        await rejectsWith(store.directory.setDkimKey("not a domain", good), "invalid");
        await store.directory.setDkimKey(domain, good);
        await rejectsWith(
          store.directory.setDkimKey(domain, { ...good, selector: "bad selector" }),
          "invalid",
        );
        await rejectsWith(store.directory.setDkimKey(domain, { ...good, selector: "" }), "invalid");
        await rejectsWith(
          store.directory.setDkimKey(domain, { ...good, privateKeyPem: "not a key" }),
          "invalid",
        );
        await rejectsWith(
          store.directory.setDkimKey(domain, { ...good, algorithm: "rsa-sha1" as unknown as "rsa-sha256" }),
          "invalid",
        );
        assert.equal((await store.directory.getDkimKey(domain))?.selector, "s1");
      });
    });

    describe("users", () => {
      test("addUser lower-cases, creates the default mailboxes, and can be found", async () => {
        await store.directory.addDomain("users.example");
        const user = await store.directory.addUser("Bob.Smith@Users.Example", CREDENTIALS);
        assert.equal(user.address, "bob.smith@users.example");
        assert.equal(user.passwordHash, CREDENTIALS.passwordHash);
        assert.equal(user.scramSha256, CREDENTIALS.scramSha256);
        assert.equal(user.domainId, (await store.directory.getDomain("users.example"))!.id);
        assert.equal((await store.directory.getUser("BOB.SMITH@users.example"))?.id, user.id);
        assert.equal((await store.directory.getUserById(user.id))?.address, user.address);
        assert.equal(await store.directory.getUserById(user.id + 100000), null);
        const mailboxes = await store.mailboxes.listMailboxes(user.id);
        assert.deepEqual(
          mailboxes.map((m) => [m.name, m.specialUse]).sort(),
          DEFAULT_MAILBOXES.map((m) => [m.name, m.specialUse]).sort(),
        );
        for (const mailbox of mailboxes) {
          assert.equal(mailbox.userId, user.id);
          assert.equal(mailbox.uidNext, 1);
          assert.equal(mailbox.highestModseq, 1);
          assert.ok(mailbox.uidValidity > 0);
        }
      });

      test("error codes: unknown domain, taken address, bad address, unknown user", async () => {
        await rejectsWith(store.directory.addUser("a@no-such-domain.example", CREDENTIALS), "not-found");
        const { user } = await freshUser();
        await rejectsWith(store.directory.addUser(user.address.toUpperCase(), CREDENTIALS), "exists");
        await rejectsWith(store.directory.addUser("no-at-sign", CREDENTIALS), "invalid");
        await rejectsWith(store.directory.addUser("@nolocal.example", CREDENTIALS), "invalid");
        await rejectsWith(store.directory.removeUser("ghost@nowhere.example"), "not-found");
        await rejectsWith(store.directory.setCredentials("ghost@nowhere.example", CREDENTIALS), "not-found");
        assert.equal(await store.directory.getUser("ghost@nowhere.example"), null);
      });

      test("listUsers by domain, setCredentials", async () => {
        const { domain, user } = await freshUser();
        const second = await store.directory.addUser(`second@${domain}`, CREDENTIALS);
        const listed = await store.directory.listUsers(domain);
        assert.deepEqual(listed.map((u) => u.address).sort(), [second.address, user.address].sort());
        const all = await store.directory.listUsers();
        assert.ok(all.some((u) => u.id === user.id) && all.some((u) => u.id === second.id));
        await store.directory.setCredentials(user.address, {
          passwordHash: "new-hash",
          scramSha256: "new-scram",
        });
        const changed = await store.directory.getUser(user.address);
        assert.equal(changed?.passwordHash, "new-hash");
        assert.equal(changed?.scramSha256, "new-scram");
      });

      test("the admin role: off by default, set at add or later, seen by every lookup", async () => {
        const { domain, user } = await freshUser();
        assert.equal(user.admin, false);
        assert.equal((await store.directory.getUser(user.address))?.admin, false);
        const boss = await store.directory.addUser(`Boss@${domain}`, CREDENTIALS, { admin: true });
        assert.equal(boss.admin, true);
        assert.equal((await store.directory.getUserById(boss.id))?.admin, true);
        await store.directory.setAdmin(user.address.toUpperCase(), true);
        assert.equal((await store.directory.getUser(user.address))?.admin, true);
        await store.directory.setAdmin(`boss@${domain}`, false);
        const listed = await store.directory.listUsers(domain);
        assert.deepEqual(
          listed.map((u) => [u.address, u.admin]),
          [
            [`boss@${domain}`, false],
            [user.address, true],
          ],
        );
        // Setting it to what it already is succeeds and changes nothing else.
        await store.directory.setAdmin(user.address, true);
        assert.equal((await store.directory.getUser(user.address))?.passwordHash, user.passwordHash);
        await rejectsWith(store.directory.setAdmin("ghost@nowhere.example", true), "not-found");
      });

      test("disabled: off by default, set and cleared by setDisabled, seen by every lookup", async () => {
        const { domain, user } = await freshUser();
        assert.equal(user.disabled, false);
        const other = await store.directory.addUser(`other@${domain}`, CREDENTIALS);
        await store.directory.setDisabled(user.address.toUpperCase(), true);
        assert.equal((await store.directory.getUser(user.address))?.disabled, true);
        assert.equal((await store.directory.getUserById(user.id))?.disabled, true);
        assert.deepEqual(
          (await store.directory.listUsers(domain)).map((u) => [u.address, u.disabled]),
          [
            [`other@${domain}`, false],
            [user.address, true],
          ],
        );
        // Disabling changes nothing else about the user.
        const disabled = await store.directory.getUser(user.address);
        assert.deepEqual(
          [disabled?.passwordHash, disabled?.scramSha256, disabled?.admin],
          [user.passwordHash, user.scramSha256, false],
        );
        await store.directory.setDisabled(user.address, true);
        await store.directory.setDisabled(user.address, false);
        assert.equal((await store.directory.getUser(user.address))?.disabled, false);
        assert.equal((await store.directory.getUser(other.address))?.disabled, false);
        await rejectsWith(store.directory.setDisabled("ghost@nowhere.example", true), "not-found");
      });

      test("display name: none by default, given at addUser or by setName, trimmed, refused with control characters", async () => {
        const { domain, user } = await freshUser();
        assert.equal(user.name, null);
        const named = await store.directory.addUser(`named@${domain}`, CREDENTIALS, {
          name: "  Ada Lovelace ",
        });
        assert.equal(named.name, "Ada Lovelace");
        assert.equal((await store.directory.getUserById(named.id))?.name, "Ada Lovelace");
        await store.directory.setName(user.address.toUpperCase(), "Émilie du Châtelet");
        assert.equal((await store.directory.getUser(user.address))?.name, "Émilie du Châtelet");
        assert.deepEqual(
          (await store.directory.listUsers(domain)).map((u) => [u.address, u.name]),
          [
            [`named@${domain}`, "Ada Lovelace"],
            [user.address, "Émilie du Châtelet"],
          ],
        );
        for (const bad of ["Eve\r\nBcc: x@y.example", "tab\there", "x".repeat(201)]) {
          await rejectsWith(store.directory.setName(user.address, bad), "invalid");
        }
        await rejectsWith(store.directory.addUser(`bad@${domain}`, CREDENTIALS, { name: "a\nb" }), "invalid");
        assert.equal(await store.directory.getUser(`bad@${domain}`), null);
        assert.equal((await store.directory.getUser(user.address))?.name, "Émilie du Châtelet");
        await store.directory.setName(user.address, "   ");
        assert.equal((await store.directory.getUser(user.address))?.name, null);
        await store.directory.setName(named.address, null);
        assert.equal((await store.directory.getUser(named.address))?.name, null);
        await rejectsWith(store.directory.setName("ghost@nowhere.example", "Ghost"), "not-found");
      });

      test("removeUser removes the user, its mailboxes and its messages", async () => {
        const { user, inbox } = await freshUser();
        const { blob } = await deliverTo(inbox.id, "to be removed");
        await store.directory.removeUser(user.address);
        assert.equal(await store.directory.getUser(user.address), null);
        assert.equal(await store.mailboxes.getMailboxById(inbox.id), null);
        assert.deepEqual(await store.mailboxes.listMailboxes(user.id), []);
        assert.deepEqual(await store.messages.listMessages(inbox.id), []);
        await rejectsWith(store.blobs.readBlobBytes(blob.id), "not-found");
      });

      test("removeUser keeps a body another user still holds", async () => {
        const a = await freshUser();
        const b = await freshUser();
        const blob = await writeBlob(store, message("shared"));
        await store.messages.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: a.inbox.id }, { mailboxId: b.inbox.id }],
          queue: [],
        });
        await store.directory.removeUser(a.user.address);
        assert.equal((await store.blobs.readBlobBytes(blob.id)).toString(), message("shared"));
        assert.equal((await store.messages.listMessages(b.inbox.id)).length, 1);
      });
    });

    describe("aliases", () => {
      test("many destinations per source, catch-all, lower-casing, listing by domain", async () => {
        await store.directory.addDomain("alias.example");
        const first = await store.directory.addAlias("Team@Alias.Example", "Ann@alias.example");
        assert.equal(first.source, "team@alias.example");
        assert.equal(first.destination, "ann@alias.example");
        await store.directory.addAlias("team@alias.example", "bob@remote.example");
        await store.directory.addAlias("@alias.example", "postmaster@alias.example");
        assert.deepEqual((await store.directory.aliasDestinations("TEAM@alias.example")).sort(), [
          "ann@alias.example",
          "bob@remote.example",
        ]);
        assert.deepEqual(await store.directory.aliasDestinations("@alias.example"), [
          "postmaster@alias.example",
        ]);
        assert.deepEqual(await store.directory.aliasDestinations("nobody@alias.example"), []);
        const listed = await store.directory.listAliases("alias.example");
        assert.equal(listed.length, 3);
        assert.ok(listed.every((a) => a.source.endsWith("@alias.example")));
        assert.ok((await store.directory.listAliases()).length >= 3);
      });

      test("error codes and removal", async () => {
        await store.directory.addDomain("alias2.example");
        await store.directory.addAlias("a@alias2.example", "x@alias2.example");
        await store.directory.addAlias("a@alias2.example", "y@alias2.example");
        await rejectsWith(store.directory.addAlias("A@alias2.example", "X@alias2.example"), "exists");
        await rejectsWith(
          store.directory.addAlias("a@unknown-domain.example", "x@alias2.example"),
          "not-found",
        );
        await rejectsWith(store.directory.addAlias("a@alias2.example", "not an address"), "invalid");
        await store.directory.removeAlias("a@alias2.example", "x@alias2.example");
        assert.deepEqual(await store.directory.aliasDestinations("a@alias2.example"), ["y@alias2.example"]);
        await rejectsWith(store.directory.removeAlias("a@alias2.example", "x@alias2.example"), "not-found");
        await store.directory.addAlias("a@alias2.example", "z@alias2.example");
        await store.directory.removeAlias("a@alias2.example");
        assert.deepEqual(await store.directory.aliasDestinations("a@alias2.example"), []);
        await rejectsWith(store.directory.removeAlias("a@alias2.example"), "not-found");
      });
    });
  });
}
