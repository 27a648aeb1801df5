import { expect, Page } from "@playwright/test";

/** /licenses/plans: the plan table, the plan editor and the per-plan issue form. */
export class PlansPage {
  constructor(private readonly page: Page) {}

  /** Opens the page and waits until the plan editor (tenant admins) is live. */
  async open() {
    await this.page.goto("/licenses/plans");
    await expect(this.page.locator('[data-testid="plan-editor"][data-ready]')).toHaveCount(1);
  }

  async create(code: string, nameEn: string, devices: number, validityDays: number) {
    const editor = this.page.getByTestId("plan-editor");
    await editor.getByLabel("Code", { exact: true }).fill(code);
    await editor.getByLabel("Name (Chinese)").fill(`${nameEn}（测试）`);
    await editor.getByLabel("Name (English)").fill(nameEn);
    await editor.getByLabel("Devices per license").fill(String(devices));
    await editor.getByLabel("Validity (days)").fill(String(validityDays));
    await editor.getByRole("button", { name: "Create", exact: true }).click();
  }

  row(code: string) {
    return this.page.getByTestId("plans").locator(`tr[data-code="${code}"]`);
  }

  /** Issues seats from a plan's row (a second step inside the row). */
  async issue(code: string, count: number) {
    const row = this.row(code);
    await row.getByText("Issue seats…", { exact: true }).click();
    await row.getByLabel("Number of seats").fill(String(count));
    await row.getByRole("button", { name: "Issue", exact: true }).click();
  }

  issuedKeys() {
    return this.page.getByTestId("issued-keys").locator("li");
  }
}

/** The member page's licenses section (plain form posts: each answer is the page again). */
export class MemberLicensesSection {
  constructor(private readonly page: Page) {}

  async expectReady() {
    await expect(this.page.locator('[data-testid="assign-form"][data-ready]')).toHaveCount(1);
  }

  /** Assigns a free seat of a plan (its option reads "<code> (Free <n>)"). */
  async assignFromPlan(option: string) {
    const form = this.page.getByTestId("assign-form");
    await form.getByLabel("License plan").selectOption({ label: option });
    await form.getByRole("button", { name: "Assign", exact: true }).click();
  }

  /** "held / quota", e.g. "1 / 1". */
  quotaUsed() {
    return this.page.getByTestId("quota-used");
  }

  heldRow(state: string) {
    return this.page.getByTestId("member-licenses").locator(`tr[data-state="${state}"]`);
  }
}

/** /licenses/<id>: a license's page. */
export class LicensePage {
  constructor(private readonly page: Page) {}

  async expectAdminReady() {
    await expect(this.page.locator('[data-testid="license-admin"][data-ready]')).toHaveCount(1);
  }

  /** Revoking is a second step that names its effect, with a required reason. */
  async revoke(reason: string) {
    const step = this.page.getByTestId("license-revoke");
    await step.getByText("Revoke…", { exact: true }).click();
    await step.getByLabel("Reason").fill(reason);
    await step.getByRole("button", { name: "Revoke for good", exact: true }).click();
  }

  state() {
    return this.page.getByTestId("license-state");
  }
}

/** /licenses: the "validate a key" form (a plain GET form). */
export class ValidatePage {
  constructor(private readonly page: Page) {}

  async validate(key: string) {
    await this.page.goto("/licenses");
    const form = this.page.getByTestId("validate-form");
    await form.getByLabel("License key").fill(key);
    await form.getByRole("button", { name: "Validate", exact: true }).click();
  }

  answer() {
    return this.page.getByTestId("validation");
  }
}
