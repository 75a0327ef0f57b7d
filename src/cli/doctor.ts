// `mailroom doctor [DOMAIN]`: checks what other servers see of this one — each served domain's DNS
// records, the hostname and its reverse DNS, the TLS certificate, and whether outbound port 25 is open.

import { readFile } from "node:fs/promises";
import { checkDomain, checkHost, checkPort25, checkTls, type Finding } from "../dns/checks.js";
import { gatherDomain, gatherHost, gatherPort25, gatherTls } from "../dns/gather.js";
import { domainRecords } from "../dns/records.js";
import { createResolver } from "../queue/dns.js";
import { domainArgument, expectPositionals, parseCommandArgs, storeOptions, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";

const HELP_COMMAND = "mailroom doctor --help";
const DEFAULT_PROBE = "gmail-smtp-in.l.google.com:25";
const DEFAULT_TIMEOUT = 5000;

const HELP = `Usage: mailroom doctor [DOMAIN] [options]

Checks what other mail servers see of this one, and says what to change: the MX, SPF, DKIM and DMARC
records of DOMAIN (or of every domain served here), that the hostname is fully qualified, resolves and
has matching reverse DNS (PTR), the TLS certificate (chain, names, expiry), and whether outbound
port 25 is open. DNS is asked through [relay] resolver, like the relay does. Exits 1 when anything fails.

Options:
  --probe HOST:PORT  where to test outbound port 25 (default ${DEFAULT_PROBE})
  --timeout MS       milliseconds for the port 25 test and each DNS query (default ${DEFAULT_TIMEOUT})
  --ca-file FILE     also trust this CA when checking the certificate chain
  --config FILE      configuration file
  --data-dir DIR     data directory (overrides the configuration)
  -h, --help         show this help
`;

const options = {
  ...storeOptions,
  probe: { type: "string" },
  timeout: { type: "string" },
  "ca-file": { type: "string" },
} as const;

const LABEL = { ok: "ok  ", warn: "WARN", fail: "FAIL" } as const;

export function formatFinding(finding: Finding): string {
  return `${LABEL[finding.status]}  ${finding.check}: ${finding.message}\n`;
}

function probeOption(value: string | boolean | undefined): string {
  if (value === undefined) return DEFAULT_PROBE;
  const probe = String(value);
  const port = Number(probe.slice(probe.lastIndexOf(":") + 1));
  if (!probe.includes(":") || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw usageError(`--probe must be HOST:PORT, not '${probe}'`, HELP_COMMAND);
  }
  return probe;
}

function timeoutOption(value: string | boolean | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT;
  const timeout = Number(value);
  if (!Number.isInteger(timeout) || timeout < 1) {
    throw usageError(`--timeout must be a number of milliseconds, not '${String(value)}'`, HELP_COMMAND);
  }
  return timeout;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, options, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  expectPositionals(positionals, [], ["DOMAIN"], HELP_COMMAND);
  const only = positionals[0] === undefined ? null : domainArgument(positionals[0], HELP_COMMAND);
  const probe = probeOption(values.probe);
  const timeout = timeoutOption(values.timeout);
  const caFile = values["ca-file"];
  let extraCa: string | undefined;
  if (typeof caFile === "string") {
    try {
      extraCa = await readFile(caFile, "utf8");
    } catch (err) {
      throw new CliError(`cannot read --ca-file ${caFile} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  return withStore(values, io, async ({ store, config }) => {
    const domains =
      only !== null ? [only] : (await store.directory.listDomains()).map((domain) => domain.name);
    if (only !== null && !(await store.directory.getDomain(only))) {
      throw new CliError(`domain ${only} is not served here; see 'mailroom domain list'`);
    }
    const resolver = createResolver(config.relay.resolver, timeout);
    const hostname = config.hostname;
    const [host, certificate, port25] = await Promise.all([
      gatherHost(resolver, hostname),
      gatherTls({
        cert: config.tls.cert,
        key: config.tls.key,
        dataDir: config.dataDir,
        hostname,
        ...(extraCa !== undefined ? { extraCa } : {}),
      }),
      gatherPort25(probe, timeout, config.relay.smarthost),
    ]);
    const addresses = host.addresses.ok ? host.addresses.value : [];
    const findings: Finding[] = [...checkHost(host)];
    for (const domain of domains) {
      const dkim = await store.directory.getDkimKey(domain);
      const expected = domainRecords({ domain, hostname, dkim, addresses });
      findings.push(...checkDomain(await gatherDomain(resolver, domain, expected), host));
    }
    if (domains.length === 0) {
      findings.push({
        status: "warn",
        check: "domains",
        message: "no domains are served here yet; add one with 'mailroom domain add NAME'",
      });
    }
    findings.push(checkTls(certificate, hostname, new Date()), checkPort25(port25));
    for (const finding of findings) io.stdout.write(formatFinding(finding));
    const failed = findings.filter((finding) => finding.status === "fail").length;
    const warned = findings.filter((finding) => finding.status === "warn").length;
    io.stderr.write(
      failed + warned === 0
        ? "everything looks right\n"
        : `${failed} to fix, ${warned} to look at (see the lines above)\n`,
    );
    return failed > 0 ? ExitCode.failure : ExitCode.ok;
  });
}

export const doctorCommand: CliCommand = {
  name: "doctor",
  help: HELP,
  run,
};
