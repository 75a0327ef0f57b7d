// Human-friendly durations ("30s", "5m") and sizes ("25MB", "10KiB") for the config file and environment.
// Both return null for text they do not understand, so the caller can name the key in its error.

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

// SI prefixes are powers of 1000 and IEC prefixes powers of 1024, as their standards define them.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const NUMBER_WITH_UNIT = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

function parseWithUnits(text: string, units: Record<string, number>, bareUnit: number): number | null {
  const match = NUMBER_WITH_UNIT.exec(text.trim());
  if (!match) return null;
  const [, amount = "", unitText = ""] = match;
  const unit = unitText === "" ? bareUnit : units[unitText.toLowerCase()];
  if (unit === undefined) return null;
  const value = Number(amount) * unit;
  if (!Number.isSafeInteger(Math.round(value))) return null;
  // A fractional result ("1.5ms") rounds to whole units, which is all the runtime can use.
  return Math.round(value);
}

/** Milliseconds from "1500", "30s", "5m", "1h", "2d", "250ms"; a bare number means milliseconds. */
export function parseDuration(text: string): number | null {
  return parseWithUnits(text, DURATION_UNITS, 1);
}

/** Octets from "1048576", "25MB", "10KiB", "1GiB"; a bare number means octets. */
export function parseSize(text: string): number | null {
  return parseWithUnits(text, SIZE_UNITS, 1);
}
