import { expect, test } from "@playwright/test";
import { ConsolePage } from "../pages/ConsolePage";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { MigrationRunPage } from "../pages/MigrationRunPage";
import { SignInPage } from "../pages/SignInPage";

// Acme Learning starts with 2,000 legacy members on the legacy model. The test takes it
// to fully migrated and back, so it leaves the tenant as it found it (a data directory
// reused from an earlier run works too: a leftover active run is cancelled first).
test("an admin dry-runs, migrates Acme with live progress, validates, switches, and rolls back", async ({ page }) => {
  test.setTimeout(600_000);
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  const console = new ConsolePage(page);
  await console.expectSignedInAs(DEMO_ADMIN);
  await console.switchTenant(/Acme Learning/);
  await expect(console.tenantName()).toContainText("Acme Learning");

  // The run console is linked from the migration page.
  await page.goto("/migration");
  await page.getByTestId("to-migration-run").click();
  const run = new MigrationRunPage(page);
  await run.expectHydrated();
  await expect(page).toHaveTitle(/Migration run/);
  await run.cancelActiveRun();

  // Dry run of everyone: the report with its charts.
  await run.dryRunEveryone();
  await expect(run.dryRunReport()).toBeVisible();
  await expect(run.dryRunReport()).not.toHaveAttribute("data-members", "0");
  await expect(run.chart("Members per level")).toBeVisible();
  await expect(run.chart("Members per tag")).toBeVisible();
  await expect(run.chart("Members per points range")).toBeVisible();

  // Migrate everyone: the progress panel follows the run without a reload.
  const migration = await run.startEveryone();
  await run.expectCompleted(migration);
  await expect(run.progressOf(migration).getByTestId("run-status")).toHaveText("completed");

  // Validate, then answer migrated members with the new model.
  await run.validate();
  await expect(run.validation()).toBeVisible();
  await run.switchTo("new");

  // The emergency rollback: its blast radius, then a confirmation naming the numbers.
  await run.previewEmergencyRollback();
  await expect(run.blastRadius()).toBeVisible({ timeout: 60_000 });
  const members = (await run.blastRadius().getAttribute("data-members")) as string;
  expect(Number(members)).toBeGreaterThan(0);
  const confirm = page.getByTestId("rollback-confirm");
  await confirm.locator("summary").click();
  await expect(page.getByTestId("rollback-effect")).toContainText(/^Roll back [\d,]+ members/);
  await expect(page.getByTestId("rollback-effect")).toContainText("Everyone is answered by the legacy model at once.");
  const rollback = await run.confirmRollback();
  await expect(run.routingMode()).toHaveAttribute("data-mode", "legacy");
  await run.expectCompleted(rollback);
  await expect(run.progressOf(rollback)).toHaveAttribute("data-kind", "rollback");

  // A plain reload shows the same: the rollback completed, the switch on legacy.
  await run.open();
  await expect(run.progressOf(rollback)).toHaveAttribute("data-status", "completed");
  await expect(run.routingMode()).toHaveAttribute("data-mode", "legacy");
});
