import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

// Imports legacy user types and members into the demo tenant (which has no legacy data
// of its own; Acme Learning's are left to the migration run spec) through the
// migration page's upload form, and reads the report with its bad rows.
test("an admin imports legacy CSV files and sees the report with its bad rows", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);

  const suffix = Date.now();
  const types =
    ["id,name,permissions,max_licenses", "1,VIP,license_request|vip.support,5", "4,Standard,license_request,1"].join(
      "\r\n",
    ) + "\r\n";
  const members =
    [
      "external_id,user_type,registered_at,last_login_at,license_count,payment_total",
      `E2E-${suffix}-1,1,2024-03-01,2026-11-28T10:00:00Z,2,199.90`,
      `E2E-${suffix}-2,4,2025-07-15,,0,0`,
      `E2E-${suffix}-3,4,not-a-date,,0,0`,
    ].join("\r\n") + "\r\n";

  await page.goto("/migration");
  const form = page.getByTestId("legacy-import");
  await form.locator('input[name="types"]').setInputFiles({
    name: "types.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(types),
  });
  await form.locator('input[name="members"]').setInputFiles({
    name: "members.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(members),
  });
  await form.locator('button[type="submit"]').click();

  await expect(page).toHaveURL(/\/migration\?import=/);
  const report = page.getByTestId("this-import");
  await expect(report).toBeVisible();
  // The members file: three rows, two taken, the third refused on its date.
  const bad = page.locator('[data-testid="bad-rows"] tr[data-line="4"]');
  await expect(bad.first()).toHaveAttribute("data-problem", "format");
  await expect(bad.first()).toContainText("registered_at");
  // The legacy data now counts the two members.
  await expect(page.getByTestId("legacy-total")).not.toHaveText("0");
});
