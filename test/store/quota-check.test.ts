// quotaExceededBy: the check IMAP APPEND and JMAP creations make at every message. Without a limit the
// usage sum (over every entry of the user) must not be read at all.

import assert from "node:assert/strict";
import { test } from "node:test";
import { quotaExceededBy } from "../../src/store/quotas.js";

function quotas(limit: number | null, used: number) {
  let sums = 0;
  return {
    sums: () => sums,
    store: {
      getLimit: async () => limit,
      getQuota: async () => {
        sums++;
        return { limit, used };
      },
    },
  };
}

test("without a limit nothing is summed and everything fits", async () => {
  const q = quotas(null, 10 ** 12);
  assert.equal(await quotaExceededBy(q.store, 1, 10 ** 9), null);
  assert.equal(q.sums(), 0);
});

test("with a limit: up to it fits, one octet past it is refused with the quota", async () => {
  const q = quotas(1000, 900);
  assert.equal(await quotaExceededBy(q.store, 1, 100), null);
  assert.deepEqual(await quotaExceededBy(q.store, 1, 101), { limit: 1000, used: 900 });
  assert.equal(q.sums(), 2);
});
