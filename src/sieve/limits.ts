/** The engine's explicit bounds; every one exceeded is a clear error, never a hang. */
export interface SieveLimits {
  /** Script source size in bytes (Pigeonhole's sieve_max_script_size default). */
  maxScriptSize: number;
  /** Blocks and tests nested inside each other. */
  maxNestingDepth: number;
  /** Actions in one result, implicit keep not counted (Pigeonhole's sieve_max_actions). */
  maxActions: number;
  /** Redirects in one result (RFC 5228 §4.2 leaves it to the site; Pigeonhole's sieve_max_redirects). */
  maxRedirects: number;
  /** Scripts included inside each other (RFC 6609 §3.2). */
  maxIncludeDepth: number;
  /** Includes executed in one evaluation. */
  maxIncludes: number;
  /** Commands, tests and comparisons executed in one evaluation. */
  maxSteps: number;
  /** Length of a :regex pattern after variable expansion. */
  maxRegexLength: number;
  /** Length of a string a variable may hold (RFC 5229 §6 lets the site truncate). */
  maxVariableSize: number;
}

export const DEFAULT_LIMITS: SieveLimits = {
  maxScriptSize: 1024 * 1024,
  maxNestingDepth: 32,
  maxActions: 32,
  maxRedirects: 4,
  maxIncludeDepth: 10,
  maxIncludes: 255,
  maxSteps: 100_000,
  maxRegexLength: 1024,
  maxVariableSize: 4096,
};
