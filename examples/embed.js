// A mailroom inside your own Node program: `npm install mailroom-server`, then `node embed.js DATA_DIR`.
// It starts SMTP and IMAP on loopback ports the system picks, adds a user, sends that user a message
// through mailroom's own SMTP client, prints where to read it, and stops cleanly on SIGTERM or Ctrl-C.
import { createServer, LISTENER_NAMES } from "mailroom-server";
import { connectSmtp } from "mailroom-server/smtp";

// Every listener is on by default; this program opens just two, on loopback.
const only = (names) =>
  Object.fromEntries(
    LISTENER_NAMES.map((name) => [
      name,
      names.includes(name) ? { host: "127.0.0.1", port: 0 } : { enabled: false },
    ]),
  );

const server = await createServer({
  dataDir: process.argv[2] ?? "./mail-data",
  settings: { hostname: "mail.example.org", listeners: only(["smtp", "imap"]), log: { level: "warn" } },
});
await server.addUser("alice@example.org", "correct horse battery");

const smtp = server.addresses.smtp;
const client = await connectSmtp({
  host: smtp.host,
  port: smtp.port,
  tls: "none",
  heloName: "client.example.net",
});
const sent = await client.send(
  { from: "bob@example.net", to: [{ address: "alice@example.org" }] },
  Buffer.from(
    "From: bob@example.net\r\nTo: alice@example.org\r\nSubject: Hello\r\n\r\nSent to an embedded mailroom.\r\n",
  ),
);
await client.quit();

console.log(JSON.stringify({ imap: server.addresses.imap, reply: sent.data?.code }));

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, async () => {
    await server.stop();
    console.log(JSON.stringify({ stopped: true }));
  });
}
