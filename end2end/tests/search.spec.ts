import { test, expect, Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { signIn } from './session';

// Every page needs an account: each test starts signed in as the admin.
test.beforeEach(async ({ page }) => { await signIn(page); });

/** Minimal RFC 4180 parser: quoted fields may hold commas, quotes and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

async function progressOf(page: Page): Promise<{ status: string | null; progress: number }> {
  const bar = page.getByTestId('progress');
  return {
    status: await bar.getAttribute('data-status'),
    progress: Number(await bar.getAttribute('data-progress')),
  };
}

test('a marketer searches TikTok for 2,000 creators, watches the bar and exports them', async ({ page }) => {
  // Scraped text includes script tags: none may ever run.
  page.on('dialog', (dialog) => { throw new Error(`unexpected dialog: ${dialog.message()}`); });
  // Hydration problems and failed requests show up as console errors.
  const consoleErrors: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => consoleErrors.push(err.message));

  await page.goto('/');
  await expect(page.getByTestId('demo-badge')).toBeVisible();
  await page.getByLabel('Name').fill('E2E spring launch');
  await page.getByLabel('Description').fill('Home workout creators');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f]+$/);
  await expect(page.getByTestId('campaign-name')).toHaveText('E2E spring launch');

  await page.getByLabel('Keywords').fill('home workout, pilates');
  await expect(page.getByTestId('keyword-chips').locator('span')).toHaveText(['home workout', 'pilates']);
  const slider = page.getByLabel('Creators wanted');
  await slider.focus();
  await slider.press('ArrowRight');
  await slider.press('ArrowRight');
  await expect(page.getByTestId('target-value')).toHaveText('2,000');
  await expect(page.getByTestId('credit-estimate')).toContainText('2,100');
  await page.getByRole('button', { name: 'Start search' }).click();

  // The bar moves: at least one value strictly between 0 and 100 before completion.
  const bar = page.getByTestId('progress');
  await expect(bar).toBeVisible();
  const seen = new Set<number>();
  let reloaded = false;
  const deadline = Date.now() + 150_000;
  for (;;) {
    const { status, progress } = await progressOf(page);
    seen.add(progress);
    if (status === 'completed') break;
    expect(['pending', 'processing']).toContain(status);
    if (!reloaded && progress > 0) {
      // Reloading mid-job resumes the bar.
      await page.reload();
      await expect(bar).toBeVisible();
      reloaded = true;
      continue;
    }
    expect(Date.now()).toBeLessThan(deadline);
    await page.waitForTimeout(250);
  }
  expect([...seen].some((p) => p > 0 && p < 100)).toBeTruthy();
  await expect(page.getByTestId('progress-text')).toHaveText('Completed');

  // Results swap in without a reload.
  await expect(page.getByTestId('results-total')).toHaveText('2,000 creators');
  await expect(page.getByTestId('creator-rows').locator('tr')).toHaveCount(50);
  await expect(page.getByTestId('page-indicator')).toHaveText('Page 1 of 40');
  await expect(page.locator('td script')).toHaveCount(0);

  // Sort by views (highest first), then filter to creators with an email.
  await page.getByTestId('sort-views').click();
  await expect(page.getByTestId('sort-views')).toContainText('↓');
  const views = (await page.getByTestId('views').allTextContents()).map((v) => Number(v.replace(/,/g, '')));
  expect(views).toEqual([...views].sort((a, b) => b - a));
  await page.getByTestId('has-email').check();
  await expect(page.getByTestId('results-total')).not.toHaveText('2,000 creators');
  await page.getByTestId('next-page').click();
  await expect(page.getByTestId('page-indicator')).toContainText('Page 2 of');

  // CSV: header plus one row per creator, formulas neutralised.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  const text = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
  const rows = parseCsv(text);
  expect(rows[0].slice(0, 3)).toEqual(['handle', 'name', 'profile_url']);
  expect(rows.length - 1).toBe(2000);
  expect(new Set(rows.slice(1).map((r) => r[0])).size).toBe(2000);
  const formulas = rows.slice(1).flat().filter((cell) => /^[=+\-@]/.test(cell));
  expect(formulas).toEqual([]);
  expect(rows.slice(1).some((r) => r[1].startsWith("'=HYPERLINK"))).toBeTruthy();
  expect(consoleErrors).toEqual([]);
});

test('bad input gets a visible message', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Name').fill('Validation');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page).toHaveURL(/\/campaigns\//);
  await page.getByLabel('Keywords').fill(' , ');
  await page.getByRole('button', { name: 'Start search' }).click();
  await expect(page.getByRole('alert')).toHaveText('Add at least one keyword.');
  await page.getByLabel('Keywords').fill('x'.repeat(101));
  await page.getByRole('button', { name: 'Start search' }).click();
  await expect(page.getByRole('alert')).toContainText('at most 100 characters');
});
