import { expect, Page } from "@playwright/test";

/** The member page's tag sections: the grants, the grant form, effective permissions. */
export class MemberTagsSection {
  constructor(private readonly page: Page) {}

  /** Opens a member found by external id and waits until the grant form is live. */
  async open(externalId: string) {
    await this.page.goto(`/members?q=${externalId}`);
    await this.page.getByRole("link", { name: externalId, exact: true }).click();
    await expect(this.page.locator('[data-testid="grant-form"][data-ready]')).toHaveCount(1);
  }

  /** Grants a tag (its option reads "<name> (<code>)") with a reason and an expiry date. */
  async grant(option: string, reason: string, expiresOn: string) {
    const form = this.page.getByTestId("grant-form");
    await form.getByRole("combobox", { name: "Tag", exact: true }).selectOption({ label: option });
    await form.getByLabel("Reason", { exact: true }).fill(reason);
    await form.getByLabel("Expires on (UTC date)").fill(expiresOn);
    await form.getByRole("button", { name: "Grant", exact: true }).click();
  }

  grantRow(code: string, state: string) {
    return this.page.getByTestId("grants").locator(`tr[data-tag="${code}"][data-state="${state}"]`);
  }

  async revoke(code: string, reason: string) {
    const row = this.grantRow(code, "active");
    // Revoking is a second step that names its effect.
    await row.getByText("Revoke…", { exact: true }).click();
    await row.getByLabel("Reason for the revocation").fill(reason);
    await row.getByRole("button", { name: "Revoke now", exact: true }).click();
  }

  permission(key: string) {
    return this.page.getByTestId("effective-permissions").locator(`[data-permission="${key}"]`);
  }

  history() {
    return this.page.getByTestId("grant-history");
  }
}
