import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

// Every form of the console as a browser without JavaScript submits it: plain GET and
// POST forms, each answered with a redirect back to its page that says what happened.
// (Slow script loading is the same as none until the WASM arrives.)
test.use({ javaScriptEnabled: false });

const done = (page: import("@playwright/test").Page) => page.getByTestId("done");

test("without JavaScript: search, sort, create, adjust, grant, revoke, tiers, audit", async ({ page }) => {
  const signIn = new SignInPage(page, false);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);
  await expect(page).toHaveTitle(/Tierdesk/);

  // Members: the search form is a GET form; a column heading orders the list.
  await page.goto("/members");
  await expect(page).toHaveTitle("Members · Tierdesk");
  await page.getByRole("searchbox").fill("M00001");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/q=M00001/);
  await expect(page.getByTestId("members").locator("tbody tr").first()).toContainText("M00001");
  await page.goto("/members");
  await page.getByTestId("members").locator('a[data-sort="total_points"]').click();
  await expect(page).toHaveURL(/sort=total_points&dir=desc/);
  const totals = await page.getByTestId("members").locator("tbody tr td:nth-child(5)").allTextContents();
  const numbers = totals.map(Number);
  expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
  await expect(page.getByTestId("members").locator('th[aria-sort="descending"]')).toHaveCount(1);

  // Create a member: back on the list, saying so.
  const suffix = Date.now().toString().slice(-6);
  const createForm = page.locator("form", { has: page.getByRole("button", { name: "Create" }) });
  await createForm.getByLabel("External id").fill(`NOJS-${suffix}`);
  await createForm.getByLabel("Display name").fill("No Script");
  await createForm.getByRole("button", { name: "Create" }).click();
  await expect(done(page)).toBeVisible();

  // The member page: adjust points, grant a tag, then revoke it (a second step in a
  // <details>, which needs no script).
  await page.goto(`/members?q=NOJS-${suffix}`);
  await page.getByRole("link", { name: `NOJS-${suffix}`, exact: true }).click();
  await expect(page).toHaveTitle("Member · Tierdesk");
  const adjust = page.locator("form", { has: page.getByRole("button", { name: "Adjust" }) });
  await adjust.getByLabel("Points").fill("25");
  await adjust.getByLabel("Reason").fill("e2e: no script");
  await adjust.getByRole("button", { name: "Adjust" }).click();
  await expect(done(page)).toBeVisible();
  await expect(page.getByTestId("available-points")).toContainText("25");

  const expiresOn = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  const grant = page.getByTestId("grant-form");
  await grant.getByRole("combobox", { name: "Tag", exact: true }).selectOption({ label: "VIP (vip)" });
  await grant.getByLabel("Reason", { exact: true }).fill("e2e: no script grant");
  await grant.getByLabel("Expires on (UTC date)").fill(expiresOn);
  await grant.getByRole("button", { name: "Grant", exact: true }).click();
  await expect(done(page)).toBeVisible();
  const row = page.getByTestId("grants").locator('tr[data-tag="vip"][data-state="active"]');
  await expect(row).toBeVisible();
  await row.getByText("Revoke…", { exact: true }).click();
  await row.getByLabel("Reason for the revocation").fill("e2e: no script revoke");
  await row.getByRole("button", { name: "Revoke now", exact: true }).click();
  await expect(done(page)).toBeVisible();
  await expect(page.getByTestId("grants").locator('tr[data-tag="vip"][data-state="revoked"]')).toBeVisible();

  // Tiers: Preview and Apply are plain submissions.
  await page.goto("/levels");
  await expect(page).toHaveTitle("Level tiers · Tierdesk");
  const diamond = page.locator('tr[data-code="diamond"]');
  const minPoints = diamond.getByLabel("max_licenses", { exact: true });
  const licenses = String(Number(await minPoints.inputValue()) + 1);
  await minPoints.fill(licenses);
  await page.getByRole("button", { name: "Preview" }).click();
  await expect(page).toHaveURL(/preview=1/);
  await expect(page.getByTestId("preview")).toBeVisible();
  await expect(page.getByTestId("confirm-apply")).toBeVisible();
  await page.getByRole("button", { name: "Confirm and apply" }).click();
  await expect(page).toHaveURL(/\/levels\?done=save_tiers_form/);
  await expect(done(page)).toBeVisible();
  await expect(page.locator('tr[data-code="diamond"]').getByLabel("max_licenses", { exact: true })).toHaveValue(licenses);

  // Audit: the filter is a GET form; the export link carries the same filters.
  await page.goto("/audit");
  const filter = page.getByTestId("audit-filter");
  await filter.getByLabel("Action").fill("points.");
  await filter.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=points\./);
  await expect(page.getByTestId("audit").locator("tbody tr").first()).toHaveAttribute("data-action", /^points\./);
  await expect(page.getByTestId("audit-export")).toHaveAttribute("href", /\/export\/audit\.csv\?.*action=points\./);
  const download = page.waitForEvent("download");
  await page.getByTestId("audit-export").click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^audit-\d{4}-\d{2}-\d{2}\.csv$/);

  // The language switch is a link.
  await page.getByRole("link", { name: "中文" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", /^zh/);
  await expect(page).toHaveTitle("审计日志 · Tierdesk");
  await page.getByRole("link", { name: "English" }).click();
});

test("without JavaScript: tags, webhooks and admins", async ({ page }) => {
  const signIn = new SignInPage(page, false);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);
  const suffix = Date.now().toString().slice(-6);

  // A new tag.
  await page.goto("/tags");
  const editor = page.getByTestId("tag-editor");
  await editor.locator('input[name="tag[code]"]').fill(`nojs${suffix}`);
  await editor.locator('input[name="tag[name_zh]"]').fill("无脚本");
  await editor.locator('input[name="tag[name_en]"]').fill("No script");
  await editor.getByRole("button", { name: "Create" }).click();
  await expect(done(page)).toBeVisible();
  await expect(page.getByTestId("tags")).toContainText(`nojs${suffix}`);

  // Webhook settings.
  await page.goto("/webhooks");
  const webhook = page.getByTestId("webhook");
  await webhook.getByLabel("Reminder (days before expiry)").fill("9");
  await webhook.getByRole("button", { name: "Save" }).click();
  await expect(done(page)).toBeVisible();
  await expect(page.getByTestId("webhook").getByLabel("Reminder (days before expiry)")).toHaveValue("9");

  // Admins: add one, then disable them (a second step in a <details>).
  await page.goto("/admins");
  const email = `nojs-${suffix}@demo.tierdesk.test`;
  const add = page.locator("form", { has: page.getByRole("button", { name: "Add", exact: true }) });
  await add.getByLabel("Email").fill(email);
  await add.getByLabel("Display name").fill("No Script");
  await add.getByLabel("Role").selectOption({ label: "Viewer" });
  await add.getByLabel("Initial password").fill("no-script-password-1");
  await add.getByRole("button", { name: "Add", exact: true }).click();
  await expect(done(page)).toBeVisible();
  const row = page.locator(`tr[data-email="${email}"]`);
  await expect(row).toBeVisible();
  await row.getByText("Disable…", { exact: true }).click();
  await row.getByRole("button", { name: "Disable now", exact: true }).click();
  await expect(done(page)).toBeVisible();
  await expect(page.locator(`tr[data-email="${email}"]`)).toContainText("Disabled");
});
