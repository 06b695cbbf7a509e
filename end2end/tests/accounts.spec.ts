import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { ADMIN } from './session';

async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(', ')}`)).toEqual([]);
}

const MEMBER_A = { email: 'maya@scout.test', password: 'maya password 1' };
const MEMBER_B = { email: 'bo@scout.test', password: 'bo password 22' };

async function signInThroughThePage(page: Page, who: { email: string; password: string }) {
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// Runs first (files run in name order, one worker): the instance is new.
test('first run: setup, members, a member\'s search another member cannot see, sign out', async ({ page, browser }) => {
  const consoleErrors: string[] = [];
  // A wasm panic shows as "unreachable"; the messages before it (hydration errors, the panic hook's)
  // say where it was.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /panicked|hydration/i.test(msg.text())) consoleErrors.push(`${page.url()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
  const status = await (await page.request.get('/api/auth/status')).json();
  expect(status.setUp, 'accounts.spec.ts must run on a new instance').toBe(false);

  // Every page leads to /setup while there is no account.
  await page.goto('/campaigns/anything');
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole('heading', { name: 'Welcome to Scout' })).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('signed-in-as')).toHaveText(ADMIN.email);

  // The admin adds two members.
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  for (const member of [MEMBER_A, MEMBER_B]) {
    await page.getByLabel('Email').fill(member.email);
    await page.getByLabel('Password', { exact: true }).fill(member.password);
    await page.getByRole('button', { name: 'Add user' }).click();
    await expect(page.getByRole('status')).toHaveText(`Added ${member.email}.`);
  }
  await expect(page.getByTestId('user-list').locator('li')).toHaveCount(3);
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expectAccessible(page);

  // Member A signs in (a wrong password first), is sent back where she was going, and searches.
  await page.goto('/settings');
  await expect(page).toHaveURL(/\/login\?next=\/settings$/);
  await signInThroughThePage(page, { email: MEMBER_A.email, password: 'not her password' });
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
  await signInThroughThePage(page, MEMBER_A);
  await expect(page).toHaveURL(/\/settings$/);
  await page.getByLabel('Name').fill('CI export');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('new-token')).toContainText('scout_');
  await expect(page.getByTestId('token-list').locator('li')).toHaveCount(1);
  await expectAccessible(page);

  await page.getByRole('link', { name: 'Campaigns' }).click();
  await page.getByLabel('Name').fill("Maya's launch");
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f]+$/);
  const campaignUrl = page.url();
  await page.getByLabel('Keywords').fill('pilates');
  await page.getByRole('button', { name: 'Start search' }).click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });

  // Member B, in another browser, sees none of it, not even by its address.
  const other = await browser.newContext();
  const bob = await other.newPage();
  await bob.goto('/login');
  await signInThroughThePage(bob, MEMBER_B);
  await expect(bob).toHaveURL(/\/$/);
  await expect(bob.getByText('No campaigns yet.')).toBeVisible();
  await bob.goto(campaignUrl);
  await expect(bob.getByRole('alert')).toHaveText('Campaign not found.');
  const csv = await bob.request.get(`${new URL(campaignUrl).pathname.replace('/campaigns/', '/api/campaigns/')}/export.csv`);
  expect(csv.status()).toBe(404);
  await other.close();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(campaignUrl);
  await expect(page).toHaveURL(/\/login\?next=/);

  // The admin sees every member's runs and opens Maya's campaign read-only.
  await signInThroughThePage(page, ADMIN);
  await expect(page).toHaveURL(campaignUrl);
  await expect(page.getByTestId('read-only')).toBeVisible();
  await expect(page.getByRole('link', { name: 'All runs' })).toHaveAttribute('href', '/admin/runs');
  await page.goto('/admin/runs');
  await expect(page.getByTestId('all-runs')).toContainText(MEMBER_A.email);
  await expectAccessible(page);
  await page.goto('/admin/users');
  await expect(page.getByTestId('user-list').locator('li')).toHaveCount(3);
  await page.locator('[data-testid="user-list"] li').filter({ hasText: MEMBER_A.email }).getByLabel('running').fill('1');
  await page.locator('[data-testid="user-list"] li').filter({ hasText: MEMBER_A.email }).getByRole('button', { name: 'Save limits' }).click();
  await expect(page.getByRole('status')).toHaveText(`Limits saved for ${MEMBER_A.email}.`);
  expect(consoleErrors).toEqual([]);
});
