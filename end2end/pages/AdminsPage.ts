import { Page } from "@playwright/test";

export class AdminsPage {
  constructor(private readonly page: Page) {}

  async add(email: string, name: string, role: "Tenant admin" | "Support" | "Viewer", password: string) {
    const form = this.page.locator("form", { has: this.page.getByRole("button", { name: "Add", exact: true }) });
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Display name").fill(name);
    await form.getByLabel("Role").selectOption({ label: role });
    await form.getByLabel("Initial password").fill(password);
    await form.getByRole("button", { name: "Add", exact: true }).click();
  }

  row(email: string) {
    return this.page.locator(`tr[data-email="${email}"]`);
  }
}
