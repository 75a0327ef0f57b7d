// Errors outside JMAP's own (RFC 8620 §3.6.1 uses the same format) as RFC 7807 problem details.

export interface Problem {
  type: string;
  status: number;
  title?: string;
  detail: string;
  [extension: string]: unknown;
}

/** A problem of mailroom's own, typed "about:blank" (RFC 7807 §4.2): the status says what kind it is. */
export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Problem {
  return { type: "about:blank", status, title, detail, ...extra };
}
