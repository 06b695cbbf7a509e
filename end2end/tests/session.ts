import { expect, Page } from '@playwright/test';

/** The instance's first admin; `accounts.spec.ts` creates it through /setup, the other specs reuse it. */
export const ADMIN = { email: 'admin@scout.test', password: 'correct horse battery' };

/**
 * Signs the page's browser context in as the admin (creating the account first when the instance is
 * new), through the same JSON routes a script would use; the session cookie lands in the context.
 */
export async function signIn(page: Page, who: { email: string; password: string } = ADMIN): Promise<void> {
  const status = await (await page.request.get('/api/auth/status')).json();
  if (!status.setUp) {
    const setup = await page.request.post('/api/auth/setup', { data: ADMIN });
    expect(setup.status()).toBe(201);
  }
  const login = await page.request.post('/api/auth/login', { data: who });
  expect(login.status()).toBe(200);
}
