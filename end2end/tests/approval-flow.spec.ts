import { Browser, expect, Page, test } from "@playwright/test";
import { DEMO_ADMIN, DEMO_PASSWORD, DEMO_SUPPORT } from "../pages/demo";
import { MemberPage, MembersPage } from "../pages/MemberPage";
import { SignInPage } from "../pages/SignInPage";

async function signedIn(browser: Browser, email: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(email, DEMO_PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText(email);
  return page;
}

async function setThreshold(admin: Page, value: string) {
  await admin.goto("/approvals");
  await expect(admin.locator("body[data-hydrated]")).toHaveCount(1);
  await admin.getByLabel(/Approval threshold|threshold/i).fill(value);
  await admin.getByRole("button", { name: "Save" }).click();
  await expect(admin.getByTestId("outcome")).toBeVisible();
}

test("four eyes: support files a request, withdraws it, files another, a tenant admin approves it", async ({ browser }) => {
  const admin = await signedIn(browser, DEMO_ADMIN);
  await setThreshold(admin, "100");
  try {
    const support = await signedIn(browser, DEMO_SUPPORT);
    const members = new MembersPage(support);
    await members.open();
    const externalId = `e2e-approval-${Date.now()}`;
    await members.create(externalId, `Approval ${externalId}`);
    const member = new MemberPage(support);
    await member.expectAdjustReady();

    // Above the threshold: filed, shown on the member page, withdrawn by the requester.
    await member.adjust(500, "goodwill");
    const pending = support.getByTestId("member-pending");
    await expect(pending).toContainText("goodwill");
    await pending.getByRole("button", { name: "Withdraw" }).click();
    await expect(support.getByTestId("member-pending")).toHaveCount(0);
    await expect(member.available()).toHaveText("0");

    // Filed again; the requester is not offered Approve on the approvals page.
    await member.adjust(300, "second try");
    await expect(support.getByTestId("member-pending")).toContainText("second try");
    await support.goto("/approvals");
    const ownRow = support.getByTestId("pending").locator("tr", { hasText: "second try" });
    await expect(ownRow.getByRole("button", { name: "Withdraw" })).toBeVisible();
    await expect(ownRow.getByRole("button", { name: "Approve" })).toHaveCount(0);

    // Another admin approves; the decision is listed with who decided.
    await admin.goto("/approvals");
    await expect(admin.locator("body[data-hydrated]")).toHaveCount(1);
    const row = admin.getByTestId("pending").locator("tr", { hasText: "second try" });
    await row.getByRole("button", { name: "Approve" }).click();
    await expect(admin.getByTestId("outcome")).toContainText("Approved");
    await expect(admin.getByTestId("decided").locator("tr", { hasText: "second try" })).toContainText(DEMO_ADMIN);
    await expect(admin.getByTestId("decided").locator("tr", { hasText: "goodwill" })).toContainText("Withdrawn");
  } finally {
    await setThreshold(admin, "");
  }
});
