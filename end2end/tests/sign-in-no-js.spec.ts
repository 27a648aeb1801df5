import { expect, test } from "@playwright/test";
import { ConsolePage } from "../pages/ConsolePage";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

test.use({ javaScriptEnabled: false });

test("sign in without JavaScript: plain form posts work, errors included", async ({ page }) => {
  const signIn = new SignInPage(page, false);
  await signIn.open();

  await signIn.signIn(DEMO_ADMIN, "not-the-password");
  await expect(signIn.error()).toHaveText("Invalid email or password.");

  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  const console = new ConsolePage(page);
  await console.expectSignedInAs(DEMO_ADMIN);
  await expect(console.tenantName()).toContainText("Demo Company");
});
