import { Page } from "@playwright/test";

export class AuditPage {
  constructor(private readonly page: Page) {}

  rowsWith(text: string) {
    return this.page.getByTestId("audit").locator("tbody tr", { hasText: text });
  }
}
