import { expect, test } from "@playwright/test";
import { ConsolePage } from "../pages/ConsolePage";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

test("sign in: a wrong password is refused, the right one opens the console", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();

  await signIn.signIn(DEMO_ADMIN, "not-the-password");
  await expect(signIn.error()).toHaveText("Invalid email or password.");
  // The hydrated form reported the error in place: no full-page round trip.
  await expect(page).not.toHaveURL(/error=/);

  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  const console = new ConsolePage(page);
  await console.expectSignedInAs(DEMO_ADMIN);
  await expect(console.tenantName()).toContainText("Demo Company");
});
