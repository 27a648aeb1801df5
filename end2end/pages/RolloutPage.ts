import { expect, Locator, Page } from "@playwright/test";

type Decision = "permission" | "quota" | "summary";

/** The gray rollout console (/rollout): kill switch, status and moves, forms, dashboard. */
export class RolloutPage {
  constructor(private readonly page: Page) {}

  async open(path = "/rollout") {
    await this.page.goto(path);
    await this.expectHydrated();
  }

  async expectHydrated() {
    await expect(this.page.getByRole("heading", { level: 1, name: "Gray rollout" })).toBeVisible();
    await expect(this.page.locator("body[data-hydrated]")).toHaveCount(1);
  }

  status(): Locator {
    return this.page.getByTestId("rollout-status");
  }

  stage(): Locator {
    return this.page.getByTestId("rollout-stage");
  }

  routingMode(): Locator {
    return this.page.getByTestId("routing-mode");
  }

  blockers(): Locator {
    return this.page.getByTestId("blockers");
  }

  chart(testId: string): Locator {
    return this.page.getByTestId(testId);
  }

  /** Aborts a rollout left active by an earlier, interrupted run (and waits for its end). */
  async abortActive(reason = "end of the browser test") {
    const status = this.status();
    if ((await status.count()) === 0) return;
    const now = await status.getAttribute("data-status");
    if (now !== "running" && now !== "paused") return;
    await this.page.getByTestId("abort-reason").fill(reason);
    await this.page.getByTestId("abort-understood").check();
    this.page.once("dialog", (dialog) => dialog.accept());
    await this.page.getByTestId("abort").click();
    await expect(status).toHaveAttribute("data-status", "aborted", { timeout: 60_000 });
  }

  /** Creates a rollout with the seed's stages, no hold, and a small minimum sample. */
  async create(name: string, minSample: number) {
    const form = this.page.getByTestId("create-form");
    await form.getByLabel("Name", { exact: true }).fill(name);
    for (let stage = 0; stage < 4; stage++) {
      await this.page.getByTestId(`stage-${stage}-hold`).fill("0");
    }
    await form.getByLabel("Minimum sample", { exact: true }).fill(String(minSample));
    await this.page.getByTestId("create-submit").click();
    await expect(this.status()).toHaveAttribute("data-status", "running", { timeout: 30_000 });
  }

  async advance() {
    await this.page.getByTestId("advance").click();
  }

  /** Waits (the workers migrate; the page polls every 3 s) for the stage's run to end. */
  async expectStageMigrated() {
    const run = this.page.getByTestId("stage-run");
    await expect(run).toHaveAttribute("data-status", "completed", { timeout: 180_000 });
    const total = (await run.getAttribute("data-total")) as string;
    await expect(run).toHaveAttribute("data-handled", total);
  }

  /** Waits until no compared decision lacks its minimum sample (the simulated traffic). */
  async expectSampled() {
    await expect(this.blockers().locator('li[data-kind="sample"]')).toHaveCount(0, { timeout: 180_000 });
    await expect(this.blockers().locator('li[data-kind="run_active"]')).toHaveCount(0, { timeout: 60_000 });
  }

  /** The decisions compared at the current stage whose score is under the gate. */
  async failingDecisions(): Promise<Decision[]> {
    const stage = (await this.stage().getAttribute("data-stage")) as string;
    const rows = this.page.locator(`[data-testid="scores"] tr[data-stage="${stage}"][data-passes="false"]`);
    const decisions = await rows.evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-decision")));
    const compared = await this.page
      .getByTestId("modes")
      .locator("[data-decision]")
      .evaluateAll((nodes) =>
        nodes.filter((node) => node.getAttribute("data-mode") !== "off").map((node) => node.getAttribute("data-decision")),
      );
    return decisions.filter((d): d is Decision => d !== null && compared.includes(d));
  }

  async resumeIfPaused() {
    if ((await this.status().getAttribute("data-status")) !== "paused") return;
    await this.page.getByTestId("resume").click();
    await expect(this.status()).toHaveAttribute("data-status", "running");
  }

  async setModes(modes: Partial<Record<Decision, "off" | "shadow" | "live">>) {
    for (const [decision, mode] of Object.entries(modes)) {
      await this.page.getByTestId(`mode-${decision}`).selectOption(mode as string);
    }
    await this.page.getByTestId("modes-save").click();
    await expect(this.page.getByTestId("controls").getByText("The routing is saved.")).toBeVisible();
  }

  /** Accepts every unaccepted mismatch of `decision` that may be accepted. */
  async acceptMismatches(decision: Decision, owner: string) {
    for (;;) {
      const link = this.page.locator(`tr[data-decision="${decision}"][data-accepted="false"] [data-testid="accept-link"]`).first();
      if ((await link.count()) === 0) return;
      await link.click();
      const form = this.page.getByTestId("accept-form");
      await expect(form).toBeVisible();
      await form.getByLabel("Owner", { exact: true }).fill(owner);
      await form.getByLabel("Reason", { exact: true }).fill("known difference, reviewed in the browser test");
      await this.page.getByTestId("accept-submit").click();
      await expect(this.page.getByTestId("accept-section").getByText("The difference is accepted")).toBeVisible();
      await this.page.goto("/rollout");
      await this.expectHydrated();
    }
  }

  async killSwitch() {
    this.page.once("dialog", (dialog) => dialog.accept());
    await this.page.getByTestId("kill-switch").click();
  }
}
