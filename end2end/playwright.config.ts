import { defineConfig } from '@playwright/test';

// `make test-e2e` builds the app, picks a free port and points SCOUT_BIN at the server binary.
const port = process.env.E2E_PORT ?? '3107';
const bin = process.env.SCOUT_BIN ?? `${__dirname}/../target/scout`;

export default defineConfig({
  testDir: './tests',
  timeout: 180_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    acceptDownloads: true,
    trace: 'off',
    launchOptions: {
      // Playwright cannot download its own browser here; Debian's chromium is used.
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: bin,
    cwd: '..',
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      DATABASE_URL: 'sqlite:target/e2e/scout.db',
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: 'target/site',
      // Fast enough for CI, slow enough that the progress bar visibly moves between polls.
      SIMULATOR_LATENCY_MS: '15',
      SIMULATOR_FAULTS: 'true',
      RUST_LOG: 'scout=warn',
    },
  },
});
