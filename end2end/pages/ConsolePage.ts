import { expect, Page } from "@playwright/test";

/** The signed-in frame: header (tenant switcher, account, sign out) and navigation. */
export class ConsolePage {
  constructor(private readonly page: Page) {}

  async expectSignedInAs(email: string) {
    await expect(this.page.getByTestId("signed-in-as")).toContainText(email);
  }

  async expectHydrated() {
    await expect(this.page.locator("body[data-hydrated]")).toHaveCount(1);
  }

  tenantName() {
    return this.page.getByTestId("tenant-name");
  }

  async switchTenant(label: RegExp) {
    await this.page.getByLabel("Tenant").selectOption({ label: (await this.optionLabel(label)) ?? "" });
    await this.page.getByRole("button", { name: "Switch" }).click();
  }

  private async optionLabel(label: RegExp) {
    const options = await this.page.locator("#tenant-switcher option").allTextContents();
    return options.find((text) => label.test(text));
  }

  async goTo(section: "Overview" | "Admins" | "Audit log" | "Tenants") {
    await this.page.getByRole("navigation", { name: "main" }).getByRole("link", { name: section }).click();
  }

  async signOut() {
    await this.page.getByRole("button", { name: "Sign out" }).click();
  }
}
