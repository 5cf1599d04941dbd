// An app's authorization in real Chromium, as a person does it: open the app's authorize URL,
// log in when asked, read the consent page, then approve (or deny). Usage:
//   node oauth-consent.mjs AUTHORIZE_URL USERNAME PASSWORD approve|deny
// Prints one JSON line: the scopes listed, the app named, and where the browser ended (the
// redirect with its code, or the page showing an out-of-band code).
import { open } from "./chromium.mjs";

const [authorizeUrl, username, password, decision] = process.argv.slice(2);
const { context, page, problems } = await open({ failedResponses: false });
// The app's own redirect URI is not served by anyone here: record where it went, and stop.
// Chromium follows the server's redirect itself and nothing serves the app's address: the
// request it makes there shows where the answer sent it.
const oob = new URL(authorizeUrl).searchParams.get("redirect_uri") === "urn:ietf:wg:oauth:2.0:oob";

try {
  await page.goto(authorizeUrl);
  await page.waitForURL(/\/login\?next=/);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/oauth\/authorize\?/), page.click("button[type=submit]")]);
  const title = (await page.textContent("h1")).trim();
  const scopes = await page.$$eval(".scopes li", (items) => items.map((li) => li.dataset.scope));
  const toApp = page
    .waitForEvent("request", { predicate: (r) => r.url().startsWith("http://app.invalid/"), timeout: 15000 })
    .then((r) => r.url());
  await page.click(decision === "deny" ? "#deny" : "#approve");
  let redirected = null;
  let code = null;
  if (oob) {
    await page.waitForSelector(".oauth-code");
    code = (await page.textContent(".oauth-code")).trim();
    toApp.catch(() => {});
  } else {
    redirected = await toApp;
  }
  console.log(JSON.stringify({ title, scopes, redirected, code, problems }));
} catch (error) {
  console.error(`${error.stack}\nproblems: ${JSON.stringify(problems)}`);
  process.exitCode = 1;
} finally {
  await context.close();
}
