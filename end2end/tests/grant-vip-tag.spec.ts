import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { MemberTagsSection } from "../pages/MemberTagsSection";
import { SignInPage } from "../pages/SignInPage";

test("an admin grants the VIP tag, sees its privileges, then revokes it", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);

  // M000002 holds no tag in the demo data (see domain/src/demo.rs).
  const tags = new MemberTagsSection(page);
  await tags.open("M000002");
  await expect(tags.permission("vip.support")).toHaveCount(0);

  const expiresOn = new Date(Date.now() + 60 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  await tags.grant("VIP (vip)", "e2e: bought VIP", expiresOn);
  await expect(tags.grantRow("vip", "active")).toContainText(`${expiresOn} 00:00 UTC`);
  await expect(tags.permission("vip.support")).toContainText("VIP tag");
  await expect(tags.permission("export.unlimited")).toContainText("VIP tag");
  await expect(page.getByTestId("quota-max_licenses")).toContainText("VIP tag +2");

  await tags.revoke("vip", "e2e: refunded");
  await expect(tags.grantRow("vip", "revoked")).toContainText("e2e: refunded");
  await expect(tags.permission("vip.support")).toHaveCount(0);
  await expect(tags.permission("export.unlimited")).toHaveCount(0);
  await expect(tags.history()).toContainText("e2e: refunded");
});
