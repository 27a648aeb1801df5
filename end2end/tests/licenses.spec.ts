import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { LicensePage, MemberLicensesSection, PlansPage, ValidatePage } from "../pages/LicensesPages";
import { MembersPage } from "../pages/MemberPage";
import { SignInPage } from "../pages/SignInPage";

test("an admin issues seats, assigns one within the member's quota, then revokes it", async ({ page }) => {
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(DEMO_ADMIN);

  // A plan of its own (codes are unique per tenant; the data directory may be reused).
  const code = `e2e-${Date.now().toString(36)}`;
  const plans = new PlansPage(page);
  await plans.open();
  await plans.create(code, "E2E Pro", 2, 365);
  await expect(page.getByTestId("outcome")).toContainText("Plan created.");
  await expect(plans.row(code)).toHaveCount(1);

  await plans.issue(code, 3);
  await expect(page.getByTestId("outcome")).toContainText("Seats issued: 3.");
  await expect(plans.issuedKeys()).toHaveCount(3);
  await expect(plans.issuedKeys().first()).toHaveText(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
  await expect(plans.row(code).getByTestId("free")).toHaveText("3");

  // A new member: no points, so the lowest level and its quota of one seat.
  const externalId = `e2e-lic-${Date.now().toString(36)}`;
  const members = new MembersPage(page);
  await members.open();
  await members.create(externalId, "License Holder");
  const seats = new MemberLicensesSection(page);
  await seats.expectReady();
  await expect(seats.quotaUsed()).toHaveText("0 / 1");
  await seats.assignFromPlan(`${code} (Free 3)`);
  // The member page's license forms are plain posts: the page comes back saying so.
  await expect(page.getByTestId("done")).toContainText("License assigned.");
  await expect(seats.quotaUsed()).toHaveText("1 / 1");
  const held = seats.heldRow("assigned");
  await expect(held).toHaveCount(1);
  const key = (await held.getAttribute("data-key")) as string;
  expect(key).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);

  // Revoked on its page: validation refuses it from then on.
  await held.getByRole("link", { name: key }).click();
  const license = new LicensePage(page);
  await license.expectAdminReady();
  await expect(license.state()).toHaveAttribute("data-state", "assigned");
  await license.revoke("e2e: chargeback");
  await expect(license.state()).toHaveAttribute("data-state", "revoked");

  const validate = new ValidatePage(page);
  await validate.validate(key.replaceAll("-", "").toLowerCase());
  await expect(validate.answer()).toHaveAttribute("data-code", "revoked");
  await expect(validate.answer()).toContainText("Refused");
  await expect(validate.answer()).toContainText("revoked");

  // The seat went back to the member's quota.
  await page.goto(`/members?q=${externalId}`);
  await page.getByRole("link", { name: externalId, exact: true }).click();
  await expect(seats.quotaUsed()).toHaveText("0 / 1");
});
