import { test, expect } from '@playwright/test';
import { Client } from '@upstash/qstash';

// Upstash's dev-server identity, which the embedded server uses when no QStash is configured.
const DEV_TOKEN = 'eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=';

test('the official @upstash/qstash client publishes to the embedded QStash server', async ({ baseURL, request }) => {
  const client = new Client({ baseUrl: baseURL!, token: DEV_TOKEN });
  const destination = `${baseURL}/api/qstash/process-scraping`;
  const first = await client.publishJSON({
    url: destination,
    body: { jobId: 'sdk-compat-check', step: 0 },
    retries: 0,
    deduplicationId: 'sdk-compat-check',
  });
  expect(first.messageId).toMatch(/^msg_/);
  // Deduplication as QStash does it: the same id answers the first message.
  const again = await client.publishJSON({ url: destination, body: { jobId: 'sdk-compat-check', step: 0 }, deduplicationId: 'sdk-compat-check' });
  expect(again.messageId).toBe(first.messageId);

  // The embedded server delivers it, signed; Scout's webhook verifies the signature and
  // acknowledges the unknown job, so the message ends delivered.
  const auth = { Authorization: `Bearer ${DEV_TOKEN}` };
  await expect
    .poll(async () => (await (await request.get(`/v2/messages/${first.messageId}`, { headers: auth })).json()).state, { timeout: 15_000 })
    .toBe('delivered');
  const message = await (await request.get(`/v2/messages/${first.messageId}`, { headers: auth })).json();
  expect(message.lastStatus).toBe(200);

  // And the SDK's own key lookup works.
  const keys = await (await request.get('/v2/keys', { headers: auth })).json();
  expect(keys.current).toMatch(/^sig_/);
});
