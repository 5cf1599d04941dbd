// A visitor on one instance's profile page follows from their own instance, in real Chromium:
// type your address, log in at home, press Follow, see it accepted. Usage:
//   node remote-follow.mjs PROFILE_URL ADDRESS PASSWORD
// Prints one JSON line; exits non-zero with the reason when a step fails.
import { open } from "./chromium.mjs";

const [profileUrl, address, password] = process.argv.slice(2);
const username = address.split("@")[0];
const { context, page, problems } = await open();

try {
  await page.goto(profileUrl);
  await page.fill("#address", address);
  // Sent home, where we are not logged in yet: the login form, then back to the interaction.
  await Promise.all([page.waitForURL(/\/login\?next=/), page.click(".remote-follow button")]);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/@[^/]+@/), page.click("button[type=submit]")]);
  const remoteProfile = page.url();
  const handle = (await page.textContent(".profile .handle")).trim();
  const before = await page.getAttribute(".follow button", "data-state");
  await Promise.all([page.waitForLoadState("load"), page.click(".follow button")]);
  let state = await page.getAttribute(".follow button", "data-state");
  for (let i = 0; i < 100 && state !== "following"; i++) {
    await page.waitForTimeout(200);
    await page.reload();
    state = await page.getAttribute(".follow button", "data-state");
  }
  console.log(JSON.stringify({ remoteProfile, handle, before, state, problems }));
} catch (error) {
  console.error(`${error.stack}\nproblems: ${JSON.stringify(problems)}`);
  process.exitCode = 1;
} finally {
  await context.close();
}
