import { expect, test } from "@playwright/test";
import { DEMO_PASSWORD, DEMO_VIEWER } from "../pages/demo";
import { MemberPage } from "../pages/MemberPage";
import { SignInPage } from "../pages/SignInPage";

test("a viewer sees no adjust control and a crafted request is refused", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_VIEWER, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_VIEWER);

  await page.goto("/members?q=M000001");
  const href = await page.getByRole("link", { name: "M000001" }).getAttribute("href");
  await page.goto(href ?? "/members");
  const member = new MemberPage(page);
  await expect(page.getByTestId("ledger")).toBeVisible();
  await expect(member.adjustForm()).toHaveCount(0);
  const before = await member.available().textContent();

  // The same request the hidden form would send, with the viewer's session cookie.
  const memberId = page.url().split("/members/")[1];
  const response = await page.request.post("/api/adjust_points", {
    form: { member_id: memberId, points: "1000", reason: "sneaky" },
    headers: { Origin: new URL(page.url()).origin, Accept: "application/json" },
  });
  expect(response.status()).toBe(403);

  await page.reload();
  await expect(member.available()).toHaveText(before ?? "");
});
