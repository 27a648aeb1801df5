import { expect, test } from "@playwright/test";
import { DEMO_PASSWORD } from "../pages/demo";
import { MemberPage, MembersPage } from "../pages/MemberPage";
import { SignInPage } from "../pages/SignInPage";

test("support adjusts points and sees the ledger row and the new level", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn("support@demo.tierdesk.test", DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText("support@demo.tierdesk.test");

  const members = new MembersPage(page);
  await members.open();
  const externalId = `e2e-${Date.now()}`;
  await members.create(externalId, `Adjust ${externalId}`);

  const member = new MemberPage(page);
  await member.expectAdjustReady();
  await expect(member.level()).toContainText("Bronze");
  await member.adjust(1500, "welcome bonus");
  await expect(member.available()).toHaveText("1500");
  await expect(member.level()).toContainText("Silver");
  await expect(member.ledgerRow(1)).toContainText("welcome bonus");
  await expect(member.ledgerRow(1)).toContainText("+1500");
  await expect(page.getByTestId("level-history")).toContainText("bronze → silver");
});
