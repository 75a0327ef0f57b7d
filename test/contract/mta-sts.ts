// Store contract, part `mtaSts`: cached MTA-STS policies and TLS-RPT session counts.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";
import type { TlsSessionCount } from "../../src/queue/tls-report.js";
import type { Store } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

const uniqueDomain = (): string => `sts-${randomBytes(4).toString("hex")}.example`;
const uniqueDay = (): string =>
  `20${10 + ((randomBytes(1)[0] as number) % 80)}-0${1 + ((randomBytes(1)[0] as number) % 9)}-1${(randomBytes(1)[0] as number) % 10}`;

export function describeMtaStsContract(context: ContractContext): void {
  describe("mtaSts", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });

    test("a policy is kept per domain, case-insensitively, replaced whole and forgotten", async () => {
      const domain = uniqueDomain();
      assert.equal(await store.mtaSts.getPolicy(domain), null);
      const first = {
        domain,
        id: "20261204T0600",
        policy: { mode: "enforce" as const, mx: ["mx1.example.net", "*.example.org"], maxAge: 604_800 },
        fetchedAt: new Date("2026-12-04T06:00:00.000Z"),
      };
      await store.mtaSts.putPolicy(first);
      assert.deepEqual(await store.mtaSts.getPolicy(domain.toUpperCase()), first);
      const second = {
        ...first,
        id: "2",
        policy: { mode: "testing" as const, mx: ["mx9.example.net"], maxAge: 60 },
        fetchedAt: new Date("2026-12-05T06:00:00.000Z"),
      };
      await store.mtaSts.putPolicy({ ...second, domain: domain.toUpperCase() });
      assert.deepEqual(await store.mtaSts.getPolicy(domain), second);
      await store.mtaSts.deletePolicy(domain);
      assert.equal(await store.mtaSts.getPolicy(domain), null);
    });

    test("sessions add up per day, domain, MX and result; other days apart; old days forgotten", async () => {
      const domain = uniqueDomain();
      const day = "2026-12-04";
      const row = (
        mxHost: string,
        resultType: TlsSessionCount["resultType"],
        count: number,
      ): TlsSessionCount => ({
        policyDomain: domain,
        policyType: "sts",
        policyString: ["version: STSv1", "mode: testing", "mx: *.example.net", "max_age: 60"],
        mxHost,
        resultType,
        count,
      });
      await store.mtaSts.recordTlsSessions(day, row("b.example.net", "", 1));
      await store.mtaSts.recordTlsSessions(day, row("B.example.net", "", 2));
      await store.mtaSts.recordTlsSessions(day, row("a.example.net", "certificate-host-mismatch", 1));
      await Promise.all(
        Array.from({ length: 5 }, () =>
          store.mtaSts.recordTlsSessions(day, row("a.example.net", "certificate-host-mismatch", 1)),
        ),
      );
      await store.mtaSts.recordTlsSessions("2026-12-03", row("a.example.net", "", 7));
      const mine = (await store.mtaSts.tlsSessions(day)).filter((each) => each.policyDomain === domain);
      assert.deepEqual(mine, [
        row("a.example.net", "certificate-host-mismatch", 6),
        row("b.example.net", "", 3),
      ]);
      await store.mtaSts.forgetTlsSessionsBefore(day);
      assert.equal(
        (await store.mtaSts.tlsSessions("2026-12-03")).filter((each) => each.policyDomain === domain).length,
        0,
      );
      assert.equal(
        (await store.mtaSts.tlsSessions(day)).filter((each) => each.policyDomain === domain).length,
        2,
      );
    });

    test("a report day is claimed exactly once, even by callers at once", async () => {
      const day = uniqueDay();
      const at = new Date();
      const claims = await Promise.all(
        Array.from({ length: 6 }, () => store.mtaSts.claimTlsReportDay(day, at)),
      );
      assert.equal(claims.filter(Boolean).length, 1);
      assert.equal(await store.mtaSts.claimTlsReportDay(day, at), false);
    });
  });
}
