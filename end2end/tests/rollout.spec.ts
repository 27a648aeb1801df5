import { expect, test } from "@playwright/test";
import { ConsolePage } from "../pages/ConsolePage";
import { DEMO_ADMIN, DEMO_PASSWORD } from "../pages/demo";
import { RolloutPage } from "../pages/RolloutPage";
import { SignInPage } from "../pages/SignInPage";

// Acme Learning starts on the legacy model with 2,000 legacy members; the server's
// simulated traffic asks decisions of its members while a rollout is active. The test
// creates a rollout, enters 5 %, opens the gate (turning off a decision that disagrees,
// whose guardrail paused the rollout, and resuming), widens to 20 % with shadow on, reads the
// score chart, presses the kill switch, and aborts the rollout at the end, so the
// tenant is left on the legacy model as it was found.
test("an admin rolls Acme out 5 % → 20 % in shadow, reads the score chart, and kills it", async ({ page }) => {
  test.setTimeout(900_000);
  // Hydration and chunk problems the browser reports (the page is hydrated with a
  // rollout in every state below).
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error" && /hydrat|panicked|unreachable|wasm/i.test(message.text())) {
      errors.push(message.text());
    }
  });
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(DEMO_ADMIN, DEMO_PASSWORD);
  const console = new ConsolePage(page);
  await console.expectSignedInAs(DEMO_ADMIN);
  await console.switchTenant(/Acme Learning/);
  await expect(console.tenantName()).toContainText("Acme Learning");

  // Linked from the navigation.
  await page.getByRole("navigation", { name: "main" }).getByRole("link", { name: "Gray rollout" }).click();
  const rollout = new RolloutPage(page);
  await rollout.expectHydrated();
  await expect(page).toHaveTitle(/Gray rollout/);
  await rollout.abortActive();

  // Create: hold 0, a minimum sample of 10; every decision starts in shadow.
  await rollout.create(`Browser test ${Date.now()}`, 10);
  await expect(rollout.stage()).toHaveAttribute("data-stage", "0");
  await expect(page.getByTestId("modes").locator('[data-mode="shadow"]')).toHaveCount(3);

  // 5 %: the stage's migration run, then enough compared decisions.
  await rollout.advance();
  await expect(rollout.stage()).toHaveAttribute("data-percent", "5", { timeout: 30_000 });
  await rollout.expectStageMigrated();
  await expect(page.getByTestId("cohort-size")).not.toHaveAttribute("data-size", "0");
  await rollout.expectSampled();

  // A decision that disagrees keeps the gate shut, and its guardrail pauses the
  // rollout by itself: such decisions are turned off (they are no longer compared),
  // then the rollout is resumed and the gate opens on the decisions that agree.
  const failing = await rollout.failingDecisions();
  if (failing.length > 0) {
    await rollout.setModes(Object.fromEntries(failing.map((d) => [d, "off"])));
  }
  await rollout.resumeIfPaused();
  await expect(rollout.blockers()).toHaveAttribute("data-blocked", "false", { timeout: 120_000 });

  // 20 %, then every decision compared in shadow again.
  await rollout.advance();
  await expect(rollout.stage()).toHaveAttribute("data-percent", "20", { timeout: 30_000 });
  await rollout.setModes({ permission: "shadow", quota: "shadow", summary: "shadow" });
  await expect(page.getByTestId("modes").locator('[data-mode="shadow"]')).toHaveCount(3);
  await rollout.expectStageMigrated();

  // The score chart, drawn with its points and the gate line.
  const chart = rollout.chart("chart-score");
  await expect(chart.getByRole("img", { name: "Compatibility score per decision" })).toBeVisible();
  await expect(chart.locator("circle[data-point]").first()).toBeVisible({ timeout: 60_000 });
  expect(Number(await chart.getAttribute("data-points"))).toBeGreaterThan(0);
  await expect(page.getByTestId("chart-score-reference")).toHaveCount(1);

  // The kill switch: every decision back to legacy, the rollout paused.
  await rollout.killSwitch();
  await expect(rollout.routingMode()).toHaveAttribute("data-mode", "legacy");
  await expect(rollout.status()).toHaveAttribute("data-status", "paused");
  await expect(page.getByTestId("pause-reason")).toContainText("kill switch");

  // A plain reload shows the same.
  await rollout.open();
  await expect(rollout.routingMode()).toHaveAttribute("data-mode", "legacy");

  // On a phone the page fits the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await rollout.open();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  // Leave Acme as it was: abort (the emergency rollback of the cohort).
  await page.setViewportSize({ width: 1440, height: 900 });
  await rollout.open();
  await rollout.abortActive();
  await rollout.open();
  await expect(rollout.status()).toHaveAttribute("data-status", "aborted");
  expect(errors).toEqual([]);
});
