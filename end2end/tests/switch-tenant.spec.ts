import { expect, test } from "@playwright/test";
import { ConsolePage } from "../pages/ConsolePage";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

test("switch tenant: the console shows the other tenant", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  const console = new ConsolePage(page);
  await expect(console.tenantName()).toContainText("Demo Company");

  await console.switchTenant(/Acme Learning/);
  await expect(console.tenantName()).toContainText("Acme Learning");

  await console.switchTenant(/Demo Company/);
  await expect(console.tenantName()).toContainText("Demo Company");
});
