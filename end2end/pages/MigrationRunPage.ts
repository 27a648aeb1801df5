import { expect, Locator, Page } from "@playwright/test";

/** The migration's run console (/migration/run): switch, dry run, runs, validation, rollback. */
export class MigrationRunPage {
  constructor(private readonly page: Page) {}

  async open(path = "/migration/run") {
    await this.page.goto(path);
    await this.expectHydrated();
  }

  async expectHydrated() {
    await expect(this.page.getByRole("heading", { level: 1, name: "Migration run" })).toBeVisible();
    await expect(this.page.locator("body[data-hydrated]")).toHaveCount(1);
  }

  routingMode() {
    return this.page.getByTestId("routing-mode");
  }

  /** The run shown under Runs: the active one, else the latest. */
  progress() {
    return this.page.getByTestId("run-progress");
  }

  /** The run `runId` as the progress panel shows it. */
  progressOf(runId: string) {
    return this.page.locator(`[data-testid="run-progress"][data-run="${runId}"]`);
  }

  /** Cancels a run left running or paused (by an earlier, interrupted test run). */
  async cancelActiveRun() {
    const progress = this.progress();
    if ((await progress.count()) === 0) return;
    const status = await progress.getAttribute("data-status");
    if (status !== "running" && status !== "paused") return;
    await progress.locator('button[data-control="cancelled"]').click();
    await expect(progress).toHaveAttribute("data-status", "cancelled");
  }

  async dryRunEveryone() {
    const form = this.page.getByTestId("dry-run-form");
    await form.getByLabel("Everyone").check();
    await this.page.getByTestId("dry-run-submit").click();
    await expect(this.page.getByTestId("dry-run").getByText("Dry run done")).toBeVisible({ timeout: 60_000 });
  }

  dryRunReport() {
    return this.page.getByTestId("dry-run-report");
  }

  chart(title: string): Locator {
    return this.page.getByRole("img", { name: title });
  }

  /** Starts a migration of everyone and answers the new run's id. */
  async startEveryone(): Promise<string> {
    const before = (await this.progress().count()) > 0 ? await this.progress().getAttribute("data-run") : null;
    const form = this.page.getByTestId("start-form");
    await form.getByLabel("Everyone").check();
    await this.page.getByTestId("start-submit").click();
    await expect(this.progress()).toHaveAttribute("data-kind", "migrate");
    await expect(this.progress()).not.toHaveAttribute("data-run", before ?? "none");
    return (await this.progress().getAttribute("data-run")) as string;
  }

  /** Waits (the workers do the batches; the page polls every second) for the run to end. */
  async expectCompleted(runId: string) {
    const run = this.progressOf(runId);
    await expect(run).toHaveAttribute("data-status", "completed", { timeout: 180_000 });
    const total = (await run.getAttribute("data-total")) as string;
    await expect(run).toHaveAttribute("data-handled", total);
  }

  async validate() {
    await this.page.getByTestId("validate-submit").click();
    await expect(this.page.getByTestId("verify").getByText("Validated")).toBeVisible({ timeout: 60_000 });
  }

  validation() {
    return this.page.getByTestId("validation");
  }

  /** Switches to `mode` through the confirmation step (nothing when already there). */
  async switchTo(mode: "new" | "legacy") {
    if ((await this.routingMode().getAttribute("data-mode")) === mode) return;
    const confirm = this.page.getByTestId("switch-confirm");
    await confirm.locator("summary").click();
    await confirm.getByTestId("switch-submit").click();
    await expect(this.routingMode()).toHaveAttribute("data-mode", mode);
  }

  async previewEmergencyRollback() {
    await this.page.getByTestId("emergency-preview").click();
    await expect(this.page).toHaveURL(/preview=rollback/);
    await this.expectHydrated();
  }

  blastRadius() {
    return this.page.getByTestId("blast-radius");
  }

  /** Confirms the previewed rollback; answers the rollback run's id. */
  async confirmRollback(): Promise<string> {
    const confirm = this.page.getByTestId("rollback-confirm");
    if ((await confirm.getAttribute("open")) === null) await confirm.locator("summary").click();
    await expect(this.page.getByTestId("rollback-effect")).toBeVisible();
    await this.page.getByTestId("rollback-submit").click();
    await expect(this.progress()).toHaveAttribute("data-kind", "rollback", { timeout: 30_000 });
    return (await this.progress().getAttribute("data-run")) as string;
  }
}
