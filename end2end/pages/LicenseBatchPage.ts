import { expect, Page } from "@playwright/test";

/** Batch assignment: the upload page (/licenses/batch) and a batch's page. */
export class LicenseBatchPage {
  constructor(private readonly page: Page) {}

  async open() {
    await this.page.goto("/licenses/batch");
    await expect(this.page.getByTestId("batch-upload")).toBeVisible();
  }

  /** Uploads `csv` as a file, with the first real plan of the select as the default. */
  async upload(name: string, csv: string) {
    const form = this.page.getByTestId("batch-upload");
    const plan = form.locator('select[name="plan"] option:not([value=""])').first();
    await expect(plan).toHaveCount(1);
    await form.locator('select[name="plan"]').selectOption((await plan.getAttribute("value")) ?? "");
    await form.locator('input[name="file"]').setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(csv, "utf-8") });
    await form.getByRole("button", { name: "Upload and preview" }).click();
    await expect(this.page).toHaveURL(/\/licenses\/batch\/[0-9a-f-]{36}/);
  }

  count(outcome: string) {
    return this.page.getByTestId("batch-counts").locator(`tr[data-outcome="${outcome}"]`).getByTestId("count");
  }

  row(line: number) {
    return this.page.getByTestId("batch-rows").locator(`tr[data-line="${line}"]`);
  }

  status() {
    return this.page.getByTestId("batch-status");
  }

  async apply() {
    const apply = this.page.getByTestId("batch-apply");
    await expect(apply).toHaveAttribute("data-ready", "true");
    await apply.getByRole("button", { name: "Apply" }).click();
  }
}
