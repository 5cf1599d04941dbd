// An app's authorization in real Chromium, as a person does it: open the app's authorize URL,
// log in when asked, read the consent page, then approve (or deny). Returns the scopes listed,
// the page's title, and where the browser ended: the app's redirect with its code, or the page
// showing an out-of-band code. Apps here redirect to http://app.invalid/, which nobody serves:
// the request Chromium makes there shows where the answer sent it.
import { open } from "./chromium.mjs";

export async function consent(authorizeUrl, username, password, decision = "approve") {
  const { context, page, problems } = await open({ failedResponses: false });
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
      code = new URL(redirected).searchParams.get("code");
    }
    return { title, scopes, redirected, code, problems };
  } catch (error) {
    throw new Error(`${error.stack}\nproblems: ${JSON.stringify(problems)}`);
  } finally {
    await context.close();
  }
}
