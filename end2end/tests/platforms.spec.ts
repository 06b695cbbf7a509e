import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import { signIn } from './session';

// Every page needs an account: each test starts signed in as the admin.
test.beforeEach(async ({ page }) => { await signIn(page); });

/** Every page must pass axe-core's WCAG 2.1 AA rules. */
async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

async function csvRows(page: Page): Promise<string[][]> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  const text = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
  // These runs' cells hold no quoted newlines; split plainly, keeping quoted commas together.
  return text.trim().split('\n').map((line) => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, '').replace(/^"|"$/g, '')));
}

/** Starts a keyword search and waits for it to complete; `runsAfter` is the campaign's run count then. */
async function runSearch(page: Page, platform: string, keywords: string, runsAfter: number) {
  await page.getByLabel(platform, { exact: true }).check({ force: true });
  await page.getByLabel('Keywords').fill(keywords);
  await page.getByRole('button', { name: 'Start search' }).click();
  // The new run is listed first and its bar replaces the previous one.
  await expect(page.getByTestId('run-platform')).toHaveCount(runsAfter);
  await expect(page.getByTestId('run-platform').first()).toHaveText(platform);
  const bar = page.getByTestId('progress');
  await expect(bar).toBeVisible();
  await expect(bar).toHaveAttribute('data-status', 'completed', { timeout: 150_000 });
}

test('a marketer searches YouTube and Instagram from the same campaign', async ({ page }) => {
  const consoleErrors: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => consoleErrors.push(err.message));

  await page.goto('/');
  await expectAccessible(page);
  await page.getByLabel('Name').fill('Cross-platform launch');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f]+$/);
  await expectAccessible(page);

  // The estimate follows the platform: Instagram's profile search carries bios, so fewer lookups.
  await page.getByLabel('TikTok', { exact: true }).check({ force: true });
  const tiktokEstimate = await page.getByTestId('credit-estimate').textContent();
  await page.getByLabel('Instagram', { exact: true }).check({ force: true });
  await expect(page.getByTestId('credit-estimate')).not.toHaveText(tiktokEstimate!);

  await runSearch(page, 'YouTube', 'trail running', 1);
  await expect(page.getByTestId('progress-text')).toHaveText('Completed');
  await expect(page.getByTestId('credits-used')).toContainText('credits used');
  expect(Number((await page.getByTestId('credits-used').textContent())!.replace(/\D/g, ''))).toBeGreaterThan(1000);
  await expect(page.getByTestId('sort-followers')).toContainText('Subscribers');
  await expect(page.getByTestId('results-total')).toHaveText('1,000 creators');
  await expectAccessible(page);
  const youtube = await csvRows(page);
  expect(youtube.length - 1).toBe(1000);
  expect(youtube.slice(1).every((r) => r[10] === 'youtube' && r[11] === 'subscribers')).toBeTruthy();
  expect(youtube.slice(1).every((r) => r[2].startsWith('https://www.youtube.com/'))).toBeTruthy();

  await runSearch(page, 'Instagram', 'pilates, barre, yoga flow', 2);
  await expect(page.getByTestId('sort-followers')).toContainText('Followers');
  await expect(page.getByTestId('results-total')).toHaveText('1,000 creators');
  const instagram = await csvRows(page);
  expect(instagram.slice(1).every((r) => r[10] === 'instagram' && r[2].startsWith('https://www.instagram.com/'))).toBeTruthy();

  // The campaign lists runs of both platforms.
  await expect(page.getByTestId('run-platform')).toHaveText(['Instagram', 'YouTube']);
  await expectAccessible(page);
  // The campaign list, now with a campaign card on it.
  await page.goto('/');
  await expect(page.getByText('Cross-platform launch')).toBeVisible();
  await expectAccessible(page);
  expect(consoleErrors).toEqual([]);
});

test('a running search can be cancelled from its bar and keeps what it found', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Name').fill('Cancel me');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page).toHaveURL(/\/campaigns\//);
  await page.getByLabel('Keywords').fill('woodworking');
  const slider = page.getByLabel('Creators wanted');
  await slider.focus();
  await slider.press('End');
  await expect(page.getByTestId('target-value')).toHaveText('5,000');
  await page.getByRole('button', { name: 'Start search' }).click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-status', 'processing');
  await expect(page.getByTestId('cancel-search')).toBeVisible();
  await expectAccessible(page);
  await page.getByTestId('cancel-search').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-status', 'cancelled');
  await expect(page.getByTestId('progress-text')).toContainText('kept');
  await expect(page.getByTestId('cancel-search')).toHaveCount(0);
});

test('a marketer finds creators similar to an account, and sees its stage while it waits', async ({ page, request }) => {
  await page.goto('/');
  await page.getByLabel('Name').fill('Like Maya');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page).toHaveURL(/\/campaigns\//);

  // TikTok: the account's profile is read, then its topics searched; the provider rate-limits the
  // first search page for an hour, so the run waits in its "analyzing" stage and says so.
  const fault = await request.post('/simulator/scrapecreators/_faults', {
    headers: { 'x-api-key': 'scout-demo-key' },
    data: { status: 429, count: 1, retryAfter: 3600, endpoint: 'tiktok/search' },
  });
  expect(fault.status()).toBe(204);
  await page.getByLabel('TikTok', { exact: true }).check({ force: true });
  await page.getByLabel('Similar to a creator').check({ force: true });
  await expect(page.getByTestId('target-value')).toHaveText('100');
  await page.getByLabel('Creator', { exact: true }).fill('https://www.tiktok.com/@maya.pilates7');
  await page.getByRole('button', { name: 'Start search' }).click();
  await expect(page.getByTestId('progress-text')).toContainText("Analyzing @maya.pilates7's profile");
  await expect(page.getByTestId('progress-text')).toContainText('Waiting for the provider until');
  await expectAccessible(page);
  await page.getByTestId('cancel-search').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-status', 'cancelled');

  // Instagram: walks the related profiles to 100 creators, never the account itself.
  await page.getByLabel('Instagram', { exact: true }).check({ force: true });
  await page.getByLabel('Creator', { exact: true }).fill('@maya.pilates7');
  await page.getByRole('button', { name: 'Start search' }).click();
  await expect(page.getByTestId('run-platform')).toHaveCount(2);
  await expect(page.getByTestId('progress')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
  await expect(page.getByTestId('results-total')).toHaveText('100 creators');
  const rows = await csvRows(page);
  expect(rows.length - 1).toBe(100);
  expect(rows.slice(1).some((r) => r[0] === 'maya.pilates7')).toBeFalsy();
  expect(Number((await page.getByTestId('credits-used').textContent())!.replace(/\D/g, ''))).toBeGreaterThan(100);
});
