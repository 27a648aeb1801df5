import { expect, test } from "@playwright/test";
import { ConsolePage } from "../pages/ConsolePage";
import { DEMO_PASSWORD, DEMO_VIEWER } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

test("sign out: back to the sign-in page, and the console is closed", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_VIEWER, DEMO_PASSWORD);
  const console = new ConsolePage(page);
  await console.expectSignedInAs(DEMO_VIEWER);
  // A viewer is offered neither admin management nor the audit log.
  await expect(page.getByRole("link", { name: "Admins" })).toHaveCount(0);

  await console.signOut();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  // Sent to sign in, with the page to come back to.
  await expect(page).toHaveURL(/\/login\?next=%2F$/);
});
