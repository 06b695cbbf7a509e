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

// Upstash's public dev-server token, which `scout qstash-dev` runs on by default.
const DEV_TOKEN = 'eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=';

test('the JS SDK publishes, enqueues, batches, fans out, schedules, and reads the DLQ and logs on scout qstash-dev', async () => {
  test.setTimeout(90_000);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'scout-qstash-dev-'));
  const server: ChildProcess = spawn(bin, ['qstash-dev', '--port', String(port), '--database', `sqlite:${dir}/qstash.db`], {
    stdio: 'ignore',
    env: { ...process.env, QSTASH_DEV_POLL_MS: '50', QSTASH_DEV_BACKOFF_SCALE: '0.001', RUST_LOG: 'scout=warn' },
  });
  // The endpoint: `/fail` answers 500, anything else 200; every call is recorded by path.
  const received: string[] = [];
  const endpoint: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      received.push(path);
      res.statusCode = path === '/fail' ? 500 : 200;
      res.end(path === '/fail' ? 'broken' : 'ok');
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
  const seen = (path: string) => received.filter((p) => p === path).length;
  try {
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/v2/keys`).catch(() => null))?.status ?? 0, { timeout: 20_000 })
      .toBe(401);
    const client = new Client({ baseUrl: `http://127.0.0.1:${port}`, token: DEV_TOKEN });

    // Publish: delay, not-before, retries, label, flow control; dedup by id and by content; callbacks.
    const delayed = await client.publishJSON({
      url: `${base}/later`,
      body: { a: 1 },
      delay: 3600,
      retries: 1,
      label: 'js',
      flowControl: { key: 'js-flow', parallelism: 2, rate: 10, period: '1m' },
    });
    const message = (await client.messages.get(delayed.messageId)) as unknown as Record<string, unknown>;
    expect(message.maxRetries).toBe(1);
    expect([message.flowControlKey, message.parallelism, message.rate, message.period]).toEqual(['js-flow', 2, 10, 60]);
    expect(message.notBefore as number).toBeGreaterThan(Date.now() + 3_000_000);
    const notBefore = Math.floor(Date.now() / 1000) + 7200;
    const pinned = await client.publishJSON({ url: `${base}/pinned`, body: {}, notBefore });
    expect((await client.messages.get(pinned.messageId)).notBefore).toBe(notBefore * 1000);
    const once = await client.publishJSON({ url: `${base}/later`, body: { d: 1 }, delay: 3600, deduplicationId: 'js-dedup' });
    const twice = await client.publishJSON({ url: `${base}/later`, body: { d: 1 }, delay: 3600, deduplicationId: 'js-dedup' });
    expect([twice.messageId, twice.deduplicated]).toEqual([once.messageId, true]);
    const byContent = await client.publishJSON({ url: `${base}/later`, body: { c: 1 }, delay: 3600, contentBasedDeduplication: true });
    const sameContent = await client.publishJSON({ url: `${base}/later`, body: { c: 1 }, delay: 3600, contentBasedDeduplication: true });
    expect(sameContent.messageId).toBe(byContent.messageId);
    await client.publishJSON({ url: `${base}/ok`, body: {}, callback: `${base}/callback` });
    await expect.poll(() => seen('/callback'), { timeout: 20_000 }).toBe(1);
    await client.messages.cancel(delayed.messageId);

    // A queue: paused it holds its message; resumed it delivers.
    const queue = client.queue({ queueName: 'js-queue' });
    await queue.upsert({ parallelism: 1, paused: true });
    await queue.enqueueJSON({ url: `${base}/queued`, body: { q: 1 } });
    expect(await queue.get()).toMatchObject({ name: 'js-queue', parallelism: 1, paused: true, lag: 1 });
    await queue.resume();
    await expect.poll(() => seen('/queued'), { timeout: 20_000 }).toBe(1);
    await queue.pause();
    expect((await queue.get()).paused).toBe(true);
    expect((await queue.list()).map((q) => q.name)).toContain('js-queue');
    await queue.delete();
    expect((await queue.list()).map((q) => q.name)).not.toContain('js-queue');

    // A URL group: one delivery per endpoint; endpoints removed by name.
    await client.urlGroups.addEndpoints({ name: 'js-group', endpoints: [{ url: `${base}/g1` }, { name: 'two', url: `${base}/g2` }] });
    expect((await client.urlGroups.get('js-group')).endpoints).toHaveLength(2);
    const fanned = await client.publishJSON({ urlGroup: 'js-group', body: { g: 1 } });
    expect(fanned).toHaveLength(2);
    await expect.poll(() => seen('/g1') + seen('/g2'), { timeout: 20_000 }).toBe(2);
    await client.urlGroups.removeEndpoints({ name: 'js-group', endpoints: [{ name: 'two' }] });
    expect((await client.urlGroups.get('js-group')).endpoints.map((e) => e.url)).toEqual([`${base}/g1`]);
    expect((await client.urlGroups.list()).map((g) => g.name)).toContain('js-group');
    await client.urlGroups.delete('js-group');

    // A batch: to a URL and into a queue.
    const batch = await client.batchJSON([
      { url: `${base}/b1`, body: { b: 1 } },
      { url: `${base}/b2`, body: { b: 2 }, queueName: 'js-batch' },
    ]);
    expect(batch).toHaveLength(2);
    await expect.poll(() => seen('/b1') + seen('/b2'), { timeout: 20_000 }).toBe(2);

    // A schedule (every second: the seconds field is scout's extension), paused, resumed, deleted.
    const { scheduleId } = await client.schedules.create({ destination: `${base}/tick`, cron: '* * * * * *', body: 'tick', scheduleId: 'js-schedule' });
    expect(scheduleId).toBe('js-schedule');
    await expect.poll(() => seen('/tick'), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await client.schedules.get(scheduleId)).toMatchObject({ cron: '* * * * * *', destination: `${base}/tick`, isPaused: false });
    await client.schedules.pause({ schedule: scheduleId });
    expect((await client.schedules.get(scheduleId)).isPaused).toBe(true);
    await client.schedules.resume({ schedule: scheduleId });
    expect((await client.schedules.get(scheduleId)).isPaused).toBe(false);
    expect((await client.schedules.list()).map((s) => s.scheduleId)).toContain(scheduleId);
    await client.schedules.delete(scheduleId);
    expect((await client.schedules.list()).map((s) => s.scheduleId)).not.toContain(scheduleId);

    // The DLQ: a failed message waits there, is retried (fails again), and is deleted.
    await client.publishJSON({ url: `${base}/fail`, body: {}, retries: 0 });
    const failed = async () => (await client.dlq.listMessages()).messages.filter((m) => m.url === `${base}/fail`);
    await expect.poll(async () => (await failed()).length, { timeout: 20_000 }).toBe(1);
    const [entry] = await failed();
    expect(entry.responseStatus).toBe(500);
    const retried = await client.dlq.retry(entry.dlqId);
    expect(retried.responses).toHaveLength(1);
    await expect.poll(async () => (await failed()).map((m) => m.dlqId).filter((id) => id !== entry.dlqId).length, { timeout: 20_000 }).toBe(1);
    const [again] = await failed();
    expect(await client.dlq.delete(again.dlqId)).toEqual({ deleted: 1 });
    expect(await failed()).toHaveLength(0);

    // The log: the cancelled message's history, newest first.
    const logs = await client.logs({ filter: { messageId: delayed.messageId } });
    expect(logs.logs.map((l) => l.state)).toEqual(['CANCELED', 'CANCEL_REQUESTED', 'CREATED']);
  } finally {
    server.kill();
    endpoint.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
