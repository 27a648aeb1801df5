import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

test.use({ viewport: { width: 390, height: 844 } });

test("at 390 px every page fits the screen and the menu folds", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toBeVisible();

  // The navigation is behind the menu toggle.
  const nav = page.getByRole("navigation", { name: "main" });
  await expect(nav).toBeHidden();
  await page.getByTestId("nav-toggle").click();
  await expect(nav).toBeVisible();
  await nav.getByRole("link", { name: "Members" }).click();
  await expect(page).toHaveURL(/\/members$/);

  const member = await page.locator("a[href^='/members/']").first().getAttribute("href");
  for (const path of ["/", "/members", member!, "/levels", "/tags", "/expiring", "/approvals", "/admins", "/webhooks", "/audit", "/migration"]) {
    await page.goto(path);
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
    // Wide tables scroll inside their card: the page itself never scrolls sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} is wider than the screen`).toBeLessThanOrEqual(0);
  }
});
