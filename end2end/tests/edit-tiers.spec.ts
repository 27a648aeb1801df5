import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { LevelsPage } from "../pages/LevelsPage";
import { SignInPage } from "../pages/SignInPage";

test("a tier edit shows its preview, then applies", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);

  const levels = new LevelsPage(page);
  await levels.open();
  // Move the silver/gold boundary from 3000 down to 2000.
  await levels.set("silver", "max_points", "1999");
  await levels.set("gold", "min_points", "2000");
  const preview = await levels.preview();
  await expect(preview).toBeVisible();
  const movedUp = Number(await preview.getByTestId("moved-up").textContent());
  expect(movedUp).toBeGreaterThan(0);
  await expect(preview.getByTestId("moved-down")).toHaveText("0");

  const applied = await levels.apply();
  await expect(applied.getByTestId("moved-up")).toHaveText(String(movedUp));
  // Members' stored levels follow in the background; the page shows when that is done.
  await expect(page.getByTestId("relevel")).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await page.reload();
  await expect(page.locator('tr[data-code="gold"]').getByLabel("min_points", { exact: true })).toHaveValue("2000");
});
