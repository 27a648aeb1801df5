import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

// A reader in Shanghai: after the first page the console knows the browser's zone and
// every time, rendered on the server or in the browser, is in UTC+8 and says so.
test.describe("in the browser's time zone", () => {
  test.use({ timezoneId: "Asia/Shanghai" });

  test("times follow the browser's zone on the server and in the browser", async ({ page }) => {
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    const signIn = new SignInPage(page);
    await signIn.open();
    await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
    await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);

    // Rendered by the server (a full load, the zone cookie set by the earlier page).
    await page.goto("/audit");
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
    await expect(page).toHaveTitle("Audit log · Tierdesk");
    const first = page.getByTestId("audit").locator("tbody tr td").first();
    await expect(first).toContainText("UTC+8");
    // Rendered in the browser (client-side navigation to the members list).
    await page.getByRole("navigation", { name: "main" }).getByRole("link", { name: "Members" }).click();
    await expect(page).toHaveTitle("Members · Tierdesk");
    await expect(page.getByTestId("members").locator("tbody tr").first()).toContainText("UTC+8");
    expect(errors).toEqual([]);
  });
});

test("member columns sort both ways and the pager keeps the order", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);
  await page.goto("/members");
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  const table = page.getByTestId("members");
  const totals = async () =>
    (await table.locator("tbody tr td:nth-child(5)").allTextContents()).map(Number);

  await table.locator('a[data-sort="total_points"]').click();
  await expect(page).toHaveURL(/sort=total_points&dir=desc/);
  await expect(table.locator('th[aria-sort="descending"]')).toContainText("▼");
  const highest = await totals();
  expect(highest).toEqual([...highest].sort((a, b) => b - a));

  // The next page continues below the last total of this one.
  await page.getByRole("link", { name: /Next/ }).click();
  await expect(page).toHaveURL(/after=.*sort=total_points&dir=desc/);
  const next = await totals();
  expect(Math.max(...next)).toBeLessThanOrEqual(Math.min(...highest));

  await table.locator('a[data-sort="total_points"]').click();
  await expect(page).toHaveURL(/sort=total_points&dir=asc/);
  const lowest = await totals();
  expect(lowest).toEqual([...lowest].sort((a, b) => a - b));
});
