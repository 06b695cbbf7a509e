import { test, expect } from '@playwright/test';
import { Client, Receiver } from '@upstash/qstash';
import { spawn, ChildProcess } from 'node:child_process';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `scout qstash-dev` as any other app uses it: the official JS SDK in its QSTASH_DEV mode (which
// health-checks GET /v2/keys on 127.0.0.1:QSTASH_DEV_PORT for the dev keys instead of downloading
// Upstash's binary), publishing to a small endpoint of the test's, whose deliveries the SDK's own
// Receiver verifies.
const bin = process.env.SCOUT_BIN ?? `${__dirname}/../../target/scout`;

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

test('the JS SDK in QSTASH_DEV mode publishes through scout qstash-dev, and its Receiver accepts the deliveries', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'scout-qstash-dev-'));
  const server: ChildProcess = spawn(bin, ['qstash-dev', '--port', String(port), '--database', `sqlite:${dir}/qstash.db`], {
    stdio: 'ignore',
    env: { ...process.env, QSTASH_DEV_POLL_MS: '50', RUST_LOG: 'scout=warn' },
  });
  // The endpoint: records what it is sent.
  const received: { signature: string; body: string; url: string }[] = [];
  const endpoint: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ signature: String(req.headers['upstash-signature']), body, url: `http://${req.headers.host}${req.url}` });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  const destination = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/api/jobs`;
  const saved = { dev: process.env.QSTASH_DEV, port: process.env.QSTASH_DEV_PORT };
  try {
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/v2/keys`).catch(() => null))?.status ?? 0, { timeout: 20_000 })
      .toBe(401);
    process.env.QSTASH_DEV = 'true';
    process.env.QSTASH_DEV_PORT = String(port);
    const client = new Client();
    const published = await client.publishJSON({ url: destination, body: { hello: 'scout' }, retries: 0 });
    expect(published.messageId).toMatch(/^msg_/);
    await expect.poll(() => received.length, { timeout: 20_000 }).toBe(1);

    const delivery = received[0];
    expect(JSON.parse(delivery.body)).toEqual({ hello: 'scout' });
    const receiver = new Receiver();
    expect(await receiver.verify({ signature: delivery.signature, body: delivery.body, url: destination })).toBe(true);
    // A tampered body is refused, so the check above is real.
    await expect(receiver.verify({ signature: delivery.signature, body: '{"hello":"mallory"}', url: destination })).rejects.toThrow();
    // And the message reads back through the SDK.
    const message = await client.messages.get(published.messageId);
    expect(message.url).toBe(destination);
  } finally {
    process.env.QSTASH_DEV = saved.dev;
    process.env.QSTASH_DEV_PORT = saved.port;
    if (saved.dev === undefined) delete process.env.QSTASH_DEV;
    if (saved.port === undefined) delete process.env.QSTASH_DEV_PORT;
    server.kill();
    endpoint.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
