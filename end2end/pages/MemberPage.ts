import { expect, Page } from "@playwright/test";

export class MembersPage {
  constructor(private readonly page: Page) {}

  async open() {
    await this.page.goto("/members");
    await expect(this.page.locator('[data-testid="new-member"][data-ready]')).toHaveCount(1);
  }

  async create(externalId: string, name: string) {
    const form = this.page.locator("form", { has: this.page.getByRole("button", { name: "Create" }) });
    await form.getByLabel("External id").fill(externalId);
    await form.getByLabel("Display name").fill(name);
    await form.getByRole("button", { name: "Create" }).click();
    await this.page.getByRole("link", { name: new RegExp(`Created.*${name}`) }).click();
  }
}

export class MemberPage {
  constructor(private readonly page: Page) {}

  /** Waits until the adjust form is live (support and tenant admins only). */
  async expectAdjustReady() {
    await expect(this.page.locator('[data-testid="adjust"][data-ready]')).toHaveCount(1);
  }

  adjustForm() {
    return this.page.locator("form", { has: this.page.getByRole("button", { name: "Adjust" }) });
  }

  async adjust(points: number, reason: string) {
    const form = this.adjustForm();
    await form.getByLabel("Points").fill(String(points));
    await form.getByLabel("Reason").fill(reason);
    await form.getByRole("button", { name: "Adjust" }).click();
  }

  level() {
    return this.page.getByTestId("member-level");
  }

  available() {
    return this.page.getByTestId("available-points");
  }

  ledgerRow(seq: number) {
    return this.page.getByTestId("ledger").locator(`tr[data-seq="${seq}"]`);
  }
}
