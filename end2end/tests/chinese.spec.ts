import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

// Codes that must never reach a Chinese page as words: the catalogue translates them.
const CODES = [
  "earn", "spend", "adjust", "reversal", "expire", "purchase", "login", "course", "redemption", "manual",
  "tiers", "points", "grace", "granted", "renewed", "revoked", "console", "job", "pending", "delivered", "failed",
];

test("the Chinese console shows no English codes for kinds, categories, causes and statuses", async ({ page }) => {
  await page.context().addCookies([{ name: "tierdesk_lang", value: "zh", url: "http://127.0.0.1" }]);
  const signIn = new SignInPage(page);
  await signIn.open();
  await page.locator("input[name=email]").fill(DEMO_ADMIN);
  await page.locator("input[name=password]").fill(DEMO_PASSWORD);
  await page.locator("button[type=submit]").click();
  await expect(page.getByTestId("signed-in-as")).toBeVisible();
  await page.goto("/members");
  const member = await page.locator("a[href^='/members/']").first().getAttribute("href");
  await page.goto(member!);
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  for (const testId of ["ledger", "level-history", "grants"]) {
    const section = page.getByTestId(testId);
    if ((await section.count()) === 0) continue;
    const text = (await section.first().innerText()).toLowerCase();
    for (const code of CODES) {
      expect(text, `“${code}” in ${testId}`).not.toMatch(new RegExp(`\\b${code}\\b`));
    }
  }
  await page.goto("/webhooks");
  const events = page.getByTestId("outbox-events");
  if ((await events.count()) > 0) {
    const statuses = await events.locator("tbody tr td:nth-child(4)").allInnerTexts();
    for (const status of statuses) {
      expect(status).not.toMatch(/\b(pending|delivered|failed|skipped)\b/);
    }
  }
});
