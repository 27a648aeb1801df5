import { expect, Page, test } from "@playwright/test";
import { DEMO_PASSWORD, DEMO_VIEWER } from "../pages/demo";
import { OverviewPage } from "../pages/OverviewPage";
import { SignInPage } from "../pages/SignInPage";

/** Hydration problems the browser reports (a mismatch logs or panics the WASM). */
function collectErrors(page: Page) {
  const errors: string[] = [];
  const relevant = /hydrat|panicked|unreachable|mismatch/i;
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if ((message.type() === "error" || message.type() === "warning") && relevant.test(message.text())) {
      errors.push(message.text());
    }
  });
  return errors;
}

async function signInAsViewer(page: Page, javascript = true) {
  const signIn = new SignInPage(page, javascript);
  await signIn.open();
  await signIn.signIn(DEMO_VIEWER, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_VIEWER);
}

test.describe("at 1440 px", () => {
  test.use({ viewport: { width: 1440, height: 900 } });

  test("a viewer reads the figures and both charts, switches to 90 days, and hydration matches", async ({ page }) => {
    const errors = collectErrors(page);
    await signInAsViewer(page);
    const overview = new OverviewPage(page);
    await overview.open();
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);

    // The demo tenant has members with ledgers and tags.
    await expect(overview.figure("members-total")).toHaveText(/^[1-9][\d,]*$/);
    await expect(overview.figure("points-outstanding")).toHaveText(/^[1-9][\d,]*$/);
    await expect(overview.figure("tags-held")).toHaveText(/^[1-9][\d,]*$/);
    await expect(overview.figure("pending-approvals")).toHaveText(/^[\d,]+$/);

    // The points chart: an image titled by its <title>, three lines, a legend.
    await expect(overview.pointsImage(30)).toBeVisible();
    await expect(overview.pointsChart().locator("polyline")).toHaveCount(3);
    const legend = overview.pointsChart().locator("ul li");
    await expect(legend).toHaveText(["Issued", "Spent", "Expired or deducted"]);
    const days = await overview.numbersTable("points-chart");
    await expect(days.locator("tbody tr")).toHaveCount(30);

    // The level chart: one bar per level, the same counts as the table beside it.
    await expect(overview.levelsImage()).toBeVisible();
    const bars = overview.levelsChart().locator("rect");
    await expect(bars).toHaveCount(await overview.levelsTable().locator("tbody tr").count());
    await expect(overview.levelsTable()).toContainText("Bronze");
    await expect(overview.recentActivity().locator("tbody tr").first()).toBeVisible();

    await overview.chooseRange("90 days");
    await expect(page).toHaveURL(/\?days=90$/);
    await expect(overview.pointsImage(90)).toBeVisible();
    const ninety = await overview.numbersTable("points-chart");
    await expect(ninety.locator("tbody tr")).toHaveCount(90);

    // A fresh load of the 90-day page hydrates without complaint too.
    await page.reload();
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
    await expect(overview.pointsImage(90)).toBeVisible();
    expect(errors, errors.join("\n")).toEqual([]);
  });
});

test.describe("at 390 px", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("the charts fit the screen with readable text, and the numbers are there as tables", async ({ page }) => {
    const errors = collectErrors(page);
    await signInAsViewer(page);
    const overview = new OverviewPage(page);
    await overview.open();
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);

    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, "the overview is wider than the screen").toBeLessThanOrEqual(0);

    for (const image of [overview.pointsImage(30), overview.levelsImage()]) {
      await image.scrollIntoViewIfNeeded();
      const box = await image.boundingBox();
      expect(box, "chart drawn").not.toBeNull();
      expect(box!.width).toBeGreaterThan(280);
      expect(box!.width).toBeLessThanOrEqual(390);
      // The drawing scales from its 400-unit viewBox; its 11-unit labels stay legible.
      const labelPx = (11 * box!.width) / 400;
      expect(labelPx).toBeGreaterThanOrEqual(8);
    }

    const levels = await overview.numbersTable("levels-chart");
    await expect(levels.locator("tbody tr").first()).toBeVisible();
    const days = await overview.numbersTable("points-chart");
    await expect(days.locator("tbody tr")).toHaveCount(30);
    expect(errors, errors.join("\n")).toEqual([]);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false, viewport: { width: 1440, height: 900 } });

  test("the overview arrives with its charts drawn and the range links work", async ({ page }) => {
    await signInAsViewer(page, false);
    const overview = new OverviewPage(page);
    await overview.open();
    await expect(overview.pointsImage(30)).toBeVisible();
    await expect(overview.levelsImage()).toBeVisible();
    await expect(overview.levelsChart().locator("rect").first()).toBeVisible();
    await overview.chooseRange("90 days");
    await expect(overview.pointsImage(90)).toBeVisible();
    // <details> opens without JavaScript.
    const days = await overview.numbersTable("points-chart");
    await expect(days.locator("tbody tr")).toHaveCount(90);
  });
});
