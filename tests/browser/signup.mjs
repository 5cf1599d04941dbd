// Joining a server in real Chromium: the sign-up page (with its rules to agree to), then the
// profile settings (name, bio, a field, an avatar), the profile as others see it, and leaving
// again from the account settings. Usage:
//   node signup.mjs SIGNUP_URL USERNAME PASSWORD AVATAR_PATH [pending]
// With `pending`, the sign-up waits for approval: the script checks the page that says so and
// stops. Prints one JSON line; exits non-zero with the reason when a step fails.
import { open } from "./chromium.mjs";

const [signupUrl, username, password, avatar, pending] = process.argv.slice(2);
const { context, page, problems } = await open();

try {
  await page.goto(signupUrl);
  const rules = await page.$$eval(".rules li", (items) => items.map((li) => li.textContent.trim()));
  await page.fill("#username", username);
  await page.fill("#password", password);
  if (await page.$("#reason")) await page.fill("#reason", "I take pictures of trains");
  await page.check("#agreement");
  await Promise.all([page.waitForLoadState("load"), page.click("form.signup button[type=submit]")]);
  await page.waitForLoadState("load");
  if (pending) {
    const title = (await page.textContent("h1")).trim();
    console.log(JSON.stringify({ rules, title, url: page.url(), problems }));
    process.exit(0);
  }
  // Signed up and in: the profile settings.
  await page.waitForURL(/\/settings\/profile/);
  await page.fill("#display_name", "Trains at Night");
  await page.fill("#note", "Night trains, mostly. #railways");
  await page.fill("input[name='fields_attributes[0][name]']", "Camera");
  await page.fill("input[name='fields_attributes[0][value]']", "Pentax 67");
  await page.setInputFiles("#avatar", avatar);
  await Promise.all([page.waitForURL(/saved=1/), page.click(".profile-form button[type=submit]")]);
  const saved = (await page.textContent(".notice")).trim();

  await page.goto(new URL(`/@${username}`, signupUrl).toString());
  const name = (await page.textContent(".profile h1")).trim();
  const note = (await page.textContent(".profile .note")).trim();
  const tagLink = await page.getAttribute(".profile .note a.hashtag", "href");
  const field = (await page.textContent(".profile .fields dd")).trim();
  const avatarSize = await page.$eval(".profile img.avatar", (img) =>
    img.complete ? { width: img.naturalWidth, height: img.naturalHeight, src: img.src } : null);

  await page.goto(new URL("/settings/account", signupUrl).toString());
  await page.fill("#delete_password", password);
  await Promise.all([page.waitForLoadState("load"), page.click(".delete-account button[type=submit]")]);
  const deleted = (await page.textContent("h1")).trim();
  const after = await page.goto(new URL(`/@${username}`, signupUrl).toString());
  // The 410 of the deleted profile is expected; it is not a problem of the page.
  const gone = after.status();
  const expected = problems.filter((p) => !(p.startsWith("410 ") && p.endsWith(`/@${username}`)));
  console.log(JSON.stringify({ rules, saved, name, note, tagLink, field, avatarSize, deleted, gone, problems: expected }));
} catch (error) {
  console.error(`${error.stack}\nproblems: ${JSON.stringify(problems)}`);
  process.exitCode = 1;
} finally {
  await context.close();
}
