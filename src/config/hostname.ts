// A check on the configured host name that is worth a warning but not a refusal: a name without a dot
// ("vm", "localhost") works on a laptop, yet it is what EHLO, Received: and the self-signed certificate
// carry, and receiving servers refuse or score down an EHLO name that is not fully qualified
// (RFC 5321 §4.1.1.1 asks for the client's fully qualified domain name).

/** The warning for `mailroom serve` to log at start, or null when the name is fully qualified. */
export function unqualifiedHostnameWarning(hostname: string): string | null {
  if (hostname.replace(/\.$/, "").includes(".")) return null;
  return `hostname "${hostname}" is not a fully qualified domain name; other mail servers see it in EHLO and Received: and many refuse mail from such a name. Set hostname = "mail.example.org" in the configuration (or MAILROOM_HOSTNAME) to the name your MX record points to`;
}
