import { expect, test } from "@playwright/test";
import { DEMO_PASSWORD, DEMO_SUPPORT } from "../pages/demo";
import { LicenseBatchPage } from "../pages/LicenseBatchPage";
import { SignInPage } from "../pages/SignInPage";

// Needs an active license plan with free licenses in the demo tenant (the first one in
// the upload form's plan list is the default plan), and M000002 below their quota.
test("support uploads a CSV, sees the preview with refusals, applies it and sees the assignment", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_SUPPORT, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_SUPPORT);

  // A file unique to this run (the same file again would be the same batch).
  const ghost = `ghost-${Date.now()}`;
  const csv = ["external_id,plan_code", "M000002", ghost, "M000003,a,b", "M000002"].join("\r\n") + "\r\n";
  const batch = new LicenseBatchPage(page);
  await batch.open();
  await batch.upload("e2e-batch.csv", csv);

  await expect(batch.status()).toHaveAttribute("data-status", "uploaded");
  await expect(batch.count("assign")).toHaveText("1");
  await expect(batch.count("unknown_member")).toHaveText("1");
  await expect(batch.count("malformed")).toHaveText("1");
  await expect(batch.count("duplicate")).toHaveText("1");
  await expect(batch.row(3)).toContainText(ghost);
  await expect(batch.row(3)).toContainText("Unknown member");
  await expect(batch.row(4)).toContainText("more than two fields");
  await expect(batch.row(5)).toContainText("Duplicate");

  await batch.apply();
  // The page follows the background apply (it refreshes itself while applying).
  await expect(batch.status()).toHaveAttribute("data-status", "applied", { timeout: 30_000 });
  await expect(batch.count("assigned")).toHaveText("1");
  await expect(batch.row(2)).toHaveAttribute("data-outcome", "assigned");
  await expect(batch.row(2)).toContainText("Assigned");
  await expect(batch.row(2).locator("td").nth(4)).toHaveText(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
});
