import { defineConfig } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The console under test: the release build, started on its own embedded PostgreSQL
// in a fresh data directory (so the first start seeds the demo data, as for a newcomer).
const port = Number(process.env.E2E_PORT ?? 3100);
const dataDir = process.env.E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), "tierdesk-e2e-"));
const serverEnv: Record<string, string> = {};
for (const [key, value] of Object.entries(process.env)) {
  if (value !== undefined && key !== "DATABASE_URL") serverEnv[key] = value;
}

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    locale: "en-US",
    // Times show in the browser's zone (app/src/time.rs); tests read them in UTC unless
    // they say otherwise.
    timezoneId: "UTC",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    command: `./target/release/tierdesk serve --addr 127.0.0.1:${port} --data-dir ${dataDir}`,
    cwd: "..",
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 120_000,
    reuseExistingServer: false,
    env: serverEnv,
    stdout: "pipe",
    stderr: "pipe",
    // Let the server stop its embedded PostgreSQL (a SIGKILL would leave it running).
    gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
  },
});
