import { expect, Page, Response, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

// Each page is a lazy route whose code is in a WASM chunk (app/src/pages.rs groups the
// pages into a few; the release build is split). A page opened directly hydrates once
// its chunk has loaded; a link within the console loads the next page's chunk, when it
// is not loaded yet, without reloading the document.

/** Hydration and chunk-loading problems the browser reports. */
function collectErrors(page: Page) {
  const errors: string[] = [];
  const relevant = /hydrat|panicked|unreachable|mismatch|wasm|placeholder|module|failed to/i;
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if ((message.type() === "error" || message.type() === "warning") && relevant.test(message.text())) {
      errors.push(message.text());
    }
  });
  return errors;
}

/** The WASM files the page fetches from now on. */
function collectWasm(page: Page) {
  const wasm: Response[] = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.endsWith(".wasm")) wasm.push(response);
  });
  return wasm;
}

const chunkNames = (responses: Response[]) =>
  responses.map((r) => new URL(r.url()).pathname).filter((path) => /\/pkg\/(split|chunk)_/.test(path));

async function signIn(page: Page) {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);
}

test("every page opened directly loads its chunk and hydrates without errors", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = collectErrors(page);
  await signIn(page);
  const nav = page.getByRole("navigation", { name: "main" });
  const paths = await nav.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
  expect(paths).toContain("/members");
  await page.goto("/members");
  const member = await page.locator('a[href^="/members/"]').first().getAttribute("href");
  expect(member).toBeTruthy();

  for (const path of [...paths, member as string]) {
    const wasm = collectWasm(page);
    await page.goto(path);
    await expect(page.locator("body[data-hydrated]"), path).toHaveCount(1);
    await expect(page.locator("main h1").first(), path).toBeVisible();
    const chunks = chunkNames(wasm);
    expect(chunks.length, `${path} loads its chunk`).toBeGreaterThan(0);
    for (const response of wasm) {
      expect(response.status(), response.url()).toBe(200);
      expect(response.headers()["cache-control"], response.url()).toContain("immutable");
      expect(response.headers()["content-type"], response.url()).toBe("application/wasm");
    }
    expect(errors, path).toEqual([]);
  }
});

test("a link to another page loads that page's chunk without reloading the document", async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page);
  await page.goto("/members");
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  // The page hydrates once its own files are in; the rest of its group's files (the
  // other pages of the chunk) are preloaded and may still be arriving.
  await page.waitForLoadState("networkidle");
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  const nav = page.getByRole("navigation", { name: "main" });

  // Pages are grouped into chunks (app/src/pages.rs): /tags is in /members' chunk,
  // /levels and / are not.
  for (const [path, heading, newChunk] of [
    ["/tags", /^Tags$/, false],
    ["/levels", /^Level tiers$/, true],
    ["/", /^Overview$/, true],
    ["/members", /^Members$/, false],
  ] as const) {
    const wasm = collectWasm(page);
    await nav.locator(`a[href="${path}"]`).click();
    await expect(page).toHaveURL(new RegExp(`127\\.0\\.0\\.1:\\d+${path}$`));
    await expect(page.locator("main h1").first()).toHaveText(heading);
    if (newChunk) {
      await expect.poll(() => chunkNames(wasm).length, `${path}'s chunk`).toBeGreaterThan(0);
    } else {
      expect(chunkNames(wasm), `${path} needs no new chunk`).toEqual([]);
    }
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  }
  expect(errors).toEqual([]);
});
