import { expect, Page } from "@playwright/test";

/** The overview (/): headline figures, the points chart, the level chart and table, recent activity. */
export class OverviewPage {
  constructor(private readonly page: Page) {}

  async open(days?: 30 | 90) {
    await this.page.goto(days ? `/?days=${days}` : "/");
  }

  figure(testId: "members-total" | "points-outstanding" | "tags-held" | "pending-approvals") {
    return this.page.getByTestId(testId);
  }

  /** The points chart's figure (legend, drawing, numbers table). */
  pointsChart() {
    return this.page.getByTestId("points-chart");
  }

  /** The points drawing, found as assistive technology finds it: an image named by its title. */
  pointsImage(days: 30 | 90) {
    return this.page.getByRole("img", { name: `Points issued and spent per day, last ${days} days` });
  }

  levelsChart() {
    return this.page.getByTestId("levels-chart");
  }

  levelsImage() {
    return this.page.getByRole("img", { name: "Members per level" });
  }

  levelsTable() {
    return this.page.getByTestId("levels-table");
  }

  recentActivity() {
    return this.page.getByTestId("recent-activity");
  }

  async chooseRange(label: "30 days" | "90 days") {
    await this.page.getByRole("navigation", { name: "Range" }).getByRole("link", { name: label }).click();
  }

  /** Unfolds a chart's numbers table and returns it. */
  async numbersTable(chart: "points-chart" | "levels-chart") {
    const figure = this.page.getByTestId(chart);
    // After a client-side range switch the disclosure may still be open: only unfold it.
    const details = figure.locator("details").first();
    const open = await details.evaluate((element) => (element as HTMLDetailsElement).open);
    if (!open) {
      await figure.getByText("Show the numbers").click();
    }
    const table = figure.locator("table");
    await expect(table).toBeVisible();
    return table;
  }
}
