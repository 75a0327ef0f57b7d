// JMAP push subscriptions (RFC 8620 §7.2): where a user's devices asked to be told of state changes.
// The URL and the encryption keys are kept because every push needs them. Until the client proves it
// reads the URL, its verification code is kept only as a hash (all checking the answer needs); the code
// the client then sets is kept, for PushSubscription/get, as it proves nothing any more.

/** RFC 8291 Web Push encryption keys, base64url as the client gave them. */
export interface PushKeys {
  p256dh: string;
  auth: string;
}

export interface NewPushSubscription {
  /** Chosen by the caller: unguessable, unique in the store. */
  id: string;
  deviceClientId: string;
  url: string;
  keys: PushKeys | null;
  /** Hash of the verification code sent to the URL. */
  verificationHash: string;
  expires: Date;
  /** Data types to push; null for all. */
  types: string[] | null;
}

export interface PushSubscriptionRecord extends NewPushSubscription {
  userId: number;
  /** The code the client sent back, which verified the subscription; null until then (no pushes). */
  verificationCode: string | null;
}

export interface PushSubscriptionPatch {
  verificationCode?: string;
  expires?: Date;
  types?: string[] | null;
}

export interface PushSubscriptionStore {
  /**
   * Adds one. "not-found" for an unknown user, "exists" for a used id, "full" when the user already
   * has `max` subscriptions that have not expired at `now` (expired ones do not count, and go).
   */
  createPushSubscription(
    userId: number,
    subscription: NewPushSubscription,
    limits: { max: number; now: Date },
  ): Promise<PushSubscriptionRecord>;
  /** The user's subscriptions that have not expired at `now`, oldest first. */
  listPushSubscriptions(userId: number, now: Date): Promise<PushSubscriptionRecord[]>;
  /** Every user's verified subscriptions that have not expired at `now`: what a starting server pushes to. */
  listVerifiedPushSubscriptions(now: Date): Promise<PushSubscriptionRecord[]>;
  /** Changes the given fields; null when the user has no such subscription. */
  updatePushSubscription(
    userId: number,
    id: string,
    patch: PushSubscriptionPatch,
  ): Promise<PushSubscriptionRecord | null>;
  /** Removes it; false when the user has no such subscription. */
  destroyPushSubscription(userId: number, id: string): Promise<boolean>;
  /** Removes every subscription expired at `now`; how many went. */
  removeExpiredPushSubscriptions(now: Date): Promise<number>;
}
