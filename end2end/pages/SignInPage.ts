import { expect, Page } from "@playwright/test";

export class SignInPage {
  constructor(private readonly page: Page, private readonly javascript = true) {}

  async open() {
    await this.page.goto("/login");
    if (this.javascript) {
      // Wait for hydration so the form is handled by the app, not as a plain post.
      await expect(this.page.locator("body[data-hydrated]")).toHaveCount(1);
    }
  }

  async signIn(email: string, password: string) {
    await this.page.getByLabel("Email").fill(email);
    await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }

  error() {
    return this.page.getByRole("alert");
  }
}
