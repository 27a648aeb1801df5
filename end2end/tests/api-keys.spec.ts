import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { SignInPage } from "../pages/SignInPage";

// A tenant admin creates an API key in the console, the tenant's backend uses it (the
// secret is shown once), and revoking it in the console stops it at once.
test("an API key is created, used by a backend and revoked", async ({ page, request }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);
  await page.goto("/api-keys");
  await expect(page.getByTestId("api-keys")).toHaveAttribute("data-ready", "true");

  const name = `Shop backend ${Date.now()}`;
  await page.locator('input[name="name"]').fill(name);
  await page.locator('select[name="scope"]').selectOption("write");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("secret").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^tdk_[0-9a-f]{32}_[0-9a-f]{48}$/);
  const row = page.getByTestId("api-key-list").locator("tr", { hasText: name });
  await expect(row).toHaveAttribute("data-state", "active");

  const headers = { authorization: `Bearer ${secret}` };
  const created = await request.post("/api/v1/members", {
    headers,
    data: { external_id: `e2e-${Date.now()}`, display_name: "E2E member" },
  });
  expect(created.status()).toBe(201);
  const member = await created.json();
  const earned = await request.post("/api/v1/points/earn", {
    headers: { ...headers, "idempotency-key": `e2e-${Date.now()}` },
    data: { member: member.external_id, points: 120, category: "order" },
  });
  expect(earned.status()).toBe(201);
  expect((await earned.json()).entry.available_after).toBe(120);

  await row.locator("summary").click();
  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(row).toHaveAttribute("data-state", "revoked");
  const refused = await request.get(`/api/v1/members/${member.external_id}`, { headers });
  expect(refused.status()).toBe(401);
  expect(refused.headers()["content-type"]).toContain("application/problem+json");

  // The reference page is served by Tierdesk itself and lists the operations.
  await page.goto("/api/v1/docs");
  await expect(page.locator("h1")).toContainText("Tierdesk API");
  await expect(page.locator("code", { hasText: "/api/v1/points/earn" })).toBeVisible();
});
