import { expect, test } from "@playwright/test";
import { AdminsPage } from "../pages/AdminsPage";
import { AuditPage } from "../pages/AuditPage";
import { ConsolePage } from "../pages/ConsolePage";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

test("add an admin, then find the change in the audit log", async ({ page }) => {
  const email = `new-${Date.now()}@demo.tierdesk.test`;
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  const console = new ConsolePage(page);
  await console.expectSignedInAs(DEMO_ADMIN);
  await console.expectHydrated();

  await console.goTo("Admins");
  const admins = new AdminsPage(page);
  await admins.add(email, "New Colleague", "Support", "a-long-password-1");
  await expect(admins.row(email)).toContainText("New Colleague");
  await expect(admins.row(email).getByRole("combobox")).toHaveValue("support");

  await console.goTo("Audit log");
  const audit = new AuditPage(page);
  await expect(audit.rowsWith(email)).toHaveCount(1);
  await expect(audit.rowsWith(email)).toContainText("admin.add");
  await expect(audit.rowsWith(email)).toContainText(DEMO_ADMIN);
});
