import { expect, Page } from "@playwright/test";

export class LevelsPage {
  constructor(private readonly page: Page) {}

  async open() {
    await this.page.goto("/levels");
    await expect(this.page.locator('[data-testid="tier-editor"][data-ready]')).toHaveCount(1);
  }

  async set(code: string, field: "min_points" | "max_points", value: string) {
    const input = this.page.locator(`tr[data-code="${code}"]`).getByLabel(field, { exact: true });
    await input.fill(value);
  }

  async preview() {
    await this.page.getByRole("button", { name: "Preview" }).click();
    return this.page.getByTestId("preview");
  }

  async apply() {
    await this.page.getByRole("button", { name: "Apply" }).click();
    // A second step names how many members move.
    await this.page.getByRole("button", { name: "Confirm and apply" }).click();
    return this.page.getByTestId("applied");
  }
}
