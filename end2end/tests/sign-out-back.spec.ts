import { expect, test } from "@playwright/test";
import { ConsolePage } from "../pages/ConsolePage";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

test("after signing out, Back does not bring the previous page's data back", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  const console = new ConsolePage(page);
  await console.expectSignedInAs(DEMO_ADMIN);

  // A full page load of the member list: this is what the browser could keep.
  const members = await page.goto("/members");
  expect(members?.headers()["cache-control"]).toBe("no-store");
  await console.expectHydrated();
  await expect(page.getByTestId("signed-in-as")).toBeVisible();

  await console.signOut();
  await expect(page).toHaveURL(/\/login$/);
  await page.goBack();
  // Whatever Back lands on, it is not the signed-in console with its data.
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByTestId("signed-in-as")).toHaveCount(0);
});
