import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net, { type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import tls, { type SecureContext, TLSSocket } from "node:tls";
import { defaultConfig } from "../../src/config/defaults.js";
import { createLogger } from "../../src/log/logger.js";
import { ListenError, type Listener, type ListenerOptions, startListener } from "../../src/net/listener.js";
import { upgradeToTls } from "../../src/net/starttls.js";
import { loadTls } from "../../src/net/tls.js";
import type { ConnectionInfo, ProtocolHandler, RejectReason } from "../../src/net/types.js";

const logger = createLogger({ level: "error", format: "json" }, new PassThrough());
let dir: string;
let context: SecureContext;
let certPem: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mailroom-listener-"));
  const loaded = await loadTls({ ...defaultConfig({ hostname: "mail.example.test" }), dataDir: dir }, logger);
  context = loaded.context;
  certPem = await readFile(loaded.certPath, "utf8");
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A line protocol for tests: greets accepted clients, says why it refuses the others. */
class GreetingHandler implements ProtocolHandler {
  readonly accepted: ConnectionInfo[] = [];
  readonly rejected: RejectReason[] = [];
  readonly open = new Set<Socket>();
  onAccept: (socket: Socket, info: ConnectionInfo) => void = (socket, info) => {
    socket.write(`hello ${info.remoteAddress} secure=${info.secure}\r\n`);
  };

  accept(socket: Socket, info: ConnectionInfo): void {
    this.accepted.push(info);
    this.open.add(socket);
    socket.once("close", () => this.open.delete(socket));
    this.onAccept(socket, info);
  }
  reject(socket: Socket, _info: ConnectionInfo, reason: RejectReason): void {
    this.rejected.push(reason);
    socket.end(`refused ${reason}\r\n`);
  }
  async drain(): Promise<void> {
    for (const socket of this.open) socket.end();
  }
  destroyAll(): void {
    for (const socket of this.open) socket.destroy();
  }
}

const listeners: Listener[] = [];
async function listen(handler: ProtocolHandler, overrides: Partial<ListenerOptions> = {}): Promise<Listener> {
  const listener = await startListener({
    name: "smtp",
    config: { enabled: true, host: "127.0.0.1", port: 0, auth: "off" },
    implicitTls: false,
    secureContext: context,
    maxConnections: 10,
    maxConnectionsPerIp: 10,
    handler,
    logger,
    ...overrides,
  });
  listeners.push(listener);
  return listener;
}

const pendingText = new WeakMap<Socket, string>();

/**
 * Reads one CRLF-terminated line (or whatever arrived before the peer closed), keeping the rest for the
 * next call; the socket stays open (an async iterator would destroy it on return).
 */
async function readLine(socket: Socket): Promise<string> {
  let buffered = pendingText.get(socket) ?? "";
  while (!buffered.includes("\r\n")) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (data: Buffer) => finish(data);
      const onEnd = () => finish(null);
      const finish = (data: Buffer | null) => {
        socket.off("data", onData);
        socket.off("end", onEnd);
        socket.off("close", onEnd);
        socket.pause();
        resolve(data);
      };
      socket.on("data", onData);
      socket.once("end", onEnd);
      socket.once("close", onEnd);
      socket.resume();
    });
    if (chunk === null) {
      pendingText.delete(socket);
      return buffered;
    }
    buffered += chunk.toString();
  }
  const end = buffered.indexOf("\r\n");
  pendingText.set(socket, buffered.slice(end + 2));
  return buffered.slice(0, end);
}

async function connect(port: number, localAddress = "127.0.0.1"): Promise<Socket> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  await once(socket, "connect");
  return socket;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("listener", () => {
  after(async () => {
    await Promise.all(listeners.map((listener) => listener.close()));
  });

  test("refuses clients over the per-IP limit and frees the slot when one leaves", async () => {
    const handler = new GreetingHandler();
    const listener = await listen(handler, { maxConnectionsPerIp: 2 });
    const first = await connect(listener.address.port);
    const second = await connect(listener.address.port);
    assert.match(await readLine(first), /^hello 127\.0\.0\.1 secure=false/);
    assert.match(await readLine(second), /^hello/);
    const third = await connect(listener.address.port);
    assert.equal(await readLine(third), "refused too-many-from-ip");
    assert.deepEqual(handler.rejected, ["too-many-from-ip"]);

    // Another address is another client (Linux routes all of 127/8 to loopback).
    const elsewhere = await connect(listener.address.port, "127.0.0.2");
    assert.match(await readLine(elsewhere), /^hello 127\.0\.0\.2/);

    first.destroy();
    await until(() => listener.connectionCount === 2);
    const fourth = await connect(listener.address.port);
    assert.match(await readLine(fourth), /^hello/);
    for (const socket of [second, third, elsewhere, fourth]) socket.destroy();
    handler.destroyAll();
    await until(() => listener.connectionCount === 0);
  });

  test("refuses clients over the total limit", async () => {
    const handler = new GreetingHandler();
    const listener = await listen(handler, { maxConnections: 2 });
    const clients = [await connect(listener.address.port), await connect(listener.address.port)];
    for (const client of clients) assert.match(await readLine(client), /^hello/);
    const extra = await connect(listener.address.port, "127.0.0.3");
    assert.equal(await readLine(extra), "refused too-many-connections");
    assert.equal(listener.connectionCount, 2, "a refused connection is not counted");
    clients[0]?.destroy();
    await until(() => listener.connectionCount === 1);
    const again = await connect(listener.address.port, "127.0.0.3");
    assert.match(await readLine(again), /^hello 127\.0\.0\.3/);
    for (const socket of [...clients, extra, again]) socket.destroy();
    handler.destroyAll();
  });

  test("implicit TLS: the handler gets a TLSSocket after a real handshake", async () => {
    const handler = new GreetingHandler();
    let handedOver = null as Socket | null;
    handler.onAccept = (socket, info) => {
      handedOver = socket;
      socket.write(`hello secure=${info.secure}\r\n`);
    };
    const listener = await listen(handler, { name: "submissions", implicitTls: true });
    const client = tls.connect({
      host: "127.0.0.1",
      port: listener.address.port,
      ca: certPem,
      servername: "localhost",
    });
    await once(client, "secureConnect");
    assert.equal(client.authorized, true, "the generated certificate verifies for localhost");
    assert.equal(await readLine(client), "hello secure=true");
    assert.ok(handedOver instanceof TLSSocket);
    assert.equal(handler.accepted[0]?.listener, "submissions");
    client.destroy();
    handler.destroyAll();
  });

  test("implicit TLS: a failed handshake frees its slot and does not reach the handler", async () => {
    const handler = new GreetingHandler();
    const listener = await listen(handler, { implicitTls: true });
    const plain = await connect(listener.address.port);
    plain.write("EHLO not-tls.example\r\n");
    await once(plain, "close");
    await until(() => listener.connectionCount === 0);
    assert.equal(handler.accepted.length, 0);
    assert.equal(handler.rejected.length, 0);
  });

  test("implicit TLS: a client that never finishes the handshake is dropped at the timeout", async () => {
    const handler = new GreetingHandler();
    const listener = await listen(handler, { implicitTls: true, handshakeTimeout: 100 });
    const silent = await connect(listener.address.port);
    await once(silent, "close");
    await until(() => listener.connectionCount === 0);
    assert.equal(handler.accepted.length, 0);
  });

  test("STARTTLS upgrade of an accepted plain connection with a real client", async () => {
    const handler = new GreetingHandler();
    handler.onAccept = (socket) => {
      socket.write("220 ready\r\n");
      socket.once("data", async (data) => {
        assert.equal(data.toString(), "STARTTLS\r\n");
        socket.pause();
        socket.write("220 go ahead\r\n");
        const secure = await upgradeToTls(socket, context);
        secure.write("250 secure now\r\n");
      });
    };
    const listener = await listen(handler);
    const client = await connect(listener.address.port);
    assert.equal(await readLine(client), "220 ready");
    client.write("STARTTLS\r\n");
    assert.equal(await readLine(client), "220 go ahead");
    const secure = tls.connect({ socket: client, ca: certPem, servername: "localhost" });
    await once(secure, "secureConnect");
    assert.equal(secure.authorized, true);
    assert.equal(await readLine(secure), "250 secure now");
    secure.destroy();
    handler.destroyAll();
  });

  test("a handler that throws costs only that connection", async () => {
    const handler = new GreetingHandler();
    handler.onAccept = () => {
      throw new Error("bug in a protocol");
    };
    const listener = await listen(handler);
    const client = await connect(listener.address.port);
    await once(client, "close");
    handler.onAccept = (socket) => socket.write("fine\r\n");
    const next = await connect(listener.address.port);
    assert.equal(await readLine(next), "fine");
    next.destroy();
    handler.destroyAll();
  });

  test("a port in use is a clear error naming the key to change", async () => {
    const first = await listen(new GreetingHandler());
    await assert.rejects(
      listen(new GreetingHandler(), {
        name: "pop3",
        config: { enabled: true, host: "127.0.0.1", port: first.address.port, auth: "tls-or-loopback" },
      }),
      (error: unknown) => {
        assert.ok(error instanceof ListenError);
        assert.equal(
          error.message,
          `cannot listen on 127.0.0.1:${first.address.port} for pop3: address already in use; change listeners.pop3.port or stop the other program`,
        );
        return true;
      },
    );
  });

  test("close() stops accepting, leaves open connections to the handler and ends pending handshakes", async () => {
    const handler = new GreetingHandler();
    const plainListener = await listen(handler);
    const client = await connect(plainListener.address.port);
    assert.match(await readLine(client), /^hello/);
    await plainListener.close();
    const refused = net.connect({ host: "127.0.0.1", port: plainListener.address.port });
    const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    assert.equal(error.code, "ECONNREFUSED");
    assert.equal(handler.open.size, 1, "the accepted connection is still open");
    for (const socket of handler.open) socket.write("still served\r\n");
    assert.equal(await readLine(client), "still served");
    handler.destroyAll();
    await once(client, "close");

    const tlsListener = await listen(new GreetingHandler(), { implicitTls: true });
    const pending = await connect(tlsListener.address.port);
    pending.on("error", () => undefined);
    await until(() => tlsListener.connectionCount === 1);
    await tlsListener.close();
    await once(pending, "close");
  });
});
