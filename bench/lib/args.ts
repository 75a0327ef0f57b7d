// Command-line numbers for the benchmarks: a count given as a whole number of at least 1, or the usage.

/** A reader of positive whole-number options that prints the usage and exits on anything else. */
export function positiveIntegers(
  usage: () => never,
): (value: string | undefined, fallback: number) => number {
  return (value, fallback) => {
    const number = Number(value ?? fallback);
    if (!Number.isInteger(number) || number < 1) usage();
    return number;
  };
}
