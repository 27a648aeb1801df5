// First-load benchmark: a signed-in cold load of /members on a throttled connection.
//
// Run by scripts/bench-first-load (which starts the release build); by hand:
//   BASE_URL=http://127.0.0.1:3100 node end2end/bench/first-load.mjs [runs]
//
// Each run: a fresh browser context signs in (unthrottled), the HTTP cache is cleared,
// then Chrome DevTools' "Slow 4G" network preset (1.44 Mbit/s down, 675 kbit/s up,
// 562.5 ms latency) and a 4x CPU slowdown are switched on and /members is loaded.
// "usable" is the time from the navigation to `body[data-hydrated=true]` (the app sets
// it once hydration has run). Bytes are what came over the wire (CDP
// encodedDataLength: headers plus the possibly compressed body). A second, warm load
// of the same page (cache kept) shows what caching saves. Prints figures; asserts nothing.
import { chromium } from "@playwright/test";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:3100";
const RUNS = Number(process.argv[2] ?? 3);
const EMAIL = "admin@demo.tierdesk.test";
const PASSWORD = "tierdesk-demo";

// Chrome DevTools' "Slow 4G" preset (formerly "Fast 3G"), as DevTools defines it.
const SLOW_4G = {
  offline: false,
  downloadThroughput: (1.6 * 1000 * 1000) / 8 * 0.9,
  uploadThroughput: (750 * 1000) / 8 * 0.9,
  latency: 150 * 3.75,
};
const CPU_SLOWDOWN = 4;

async function signIn(page) {
  await page.goto(`${BASE_URL}/login`);
  await page.locator("body[data-hydrated]").waitFor({ state: "attached", timeout: 60_000 });
  await page.getByLabel("Email").fill(EMAIL);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor({ timeout: 60_000 });
}

/** Loads `path` and returns wall time to hydration plus every response's wire bytes. */
async function load(page, cdp, path) {
  const requests = new Map();
  const onResponse = (event) => {
    const headers = Object.fromEntries(
      Object.entries(event.response.headers).map(([k, v]) => [k.toLowerCase(), v]),
    );
    requests.set(event.requestId, {
      url: event.response.url,
      status: event.response.status,
      fromCache: event.response.fromDiskCache || event.response.fromServiceWorker,
      encoding: headers["content-encoding"] ?? "-",
      cacheControl: headers["cache-control"] ?? "-",
      bytes: 0,
    });
  };
  const onCached = (event) => {
    const r = requests.get(event.requestId);
    if (r) r.fromCache = true;
  };
  const onFinished = (event) => {
    const r = requests.get(event.requestId);
    if (r) r.bytes = event.encodedDataLength;
  };
  cdp.on("Network.responseReceived", onResponse);
  cdp.on("Network.requestServedFromCache", onCached);
  cdp.on("Network.loadingFinished", onFinished);
  const start = Date.now();
  await page.goto(`${BASE_URL}${path}`, { waitUntil: "commit", timeout: 120_000 });
  await page.locator('body[data-hydrated="true"]').waitFor({ state: "attached", timeout: 120_000 });
  const usableMs = Date.now() - start;
  // Let any request started during hydration finish so its bytes are counted.
  await page.waitForLoadState("networkidle", { timeout: 120_000 }).catch(() => {});
  cdp.off("Network.responseReceived", onResponse);
  cdp.off("Network.requestServedFromCache", onCached);
  cdp.off("Network.loadingFinished", onFinished);
  const list = [...requests.values()];
  return { usableMs, bytes: list.reduce((sum, r) => sum + r.bytes, 0), list };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const cold = [];
const warm = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    const context = await browser.newContext({ locale: "en-US" });
    const page = await context.newPage();
    await signIn(page);
    await page.goto("about:blank");
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.clearBrowserCache");
    await cdp.send("Network.emulateNetworkConditions", SLOW_4G);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });
    const first = await load(page, cdp, "/members");
    await page.goto("about:blank");
    const second = await load(page, cdp, "/members");
    cold.push(first);
    warm.push(second);
    console.log(`run ${run}: cold ${first.bytes} B, usable after ${first.usableMs} ms; ` +
      `warm ${second.bytes} B, usable after ${second.usableMs} ms`);
    if (run === 1) {
      console.log("  cold load, per response (wire bytes, content-encoding, cache-control):");
      for (const r of first.list) {
        const path = r.url.replace(BASE_URL, "");
        console.log(`    ${String(r.bytes).padStart(9)}  ${r.encoding.padEnd(5)} ${r.status} ${path}  [${r.cacheControl}]`);
      }
      console.log("  warm load, per response:");
      for (const r of second.list) {
        const path = r.url.replace(BASE_URL, "");
        console.log(`    ${String(r.bytes).padStart(9)}  ${r.fromCache ? "cache" : "net  "} ${r.status} ${path}`);
      }
    }
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(`cold_load_bytes=${median(cold.map((r) => r.bytes))}`);
console.log(`cold_usable_ms=${median(cold.map((r) => r.usableMs))}`);
console.log(`warm_load_bytes=${median(warm.map((r) => r.bytes))}`);
console.log(`warm_usable_ms=${median(warm.map((r) => r.usableMs))}`);
