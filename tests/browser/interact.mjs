// People interacting on the web pages, in Chromium with JavaScript off (every form must work
// without it), keyboard first. Usage:
//   node interact.mjs BASE POST_URL WORD TAG
// bob (password "correct horse battery") likes, boosts and answers alice's post at POST_URL,
// reads his home feed, searches WORD, follows #TAG; then alice reads her notifications.
// Prints one JSON line of what each page showed.
import { open } from "./chromium.mjs";

const [base, postUrl, word, tag] = process.argv.slice(2);
const password = "correct horse battery";
const out = {};

async function logIn(page, username) {
  await page.goto(`${base}/login`);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

const text = async (page, selector) => ((await page.textContent(selector)) || "").replace(/\s+/g, " ").trim();

const bob = await open({ javaScript: false });
const alice = await open({ javaScript: false });
try {
  const page = bob.page;
  await logIn(page, "bob");
  await page.goto(postUrl);
  out.like_before = await text(page, "#like");
  // Keyboard: the like button is reached and pressed without a mouse.
  await page.focus("#like");
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  out.like_after = [await text(page, "#like"), await page.getAttribute("#like", "aria-pressed"), await text(page, "#like-count")];
  await Promise.all([page.waitForNavigation(), page.click("#boost")]);
  out.boost_after = [await text(page, "#boost"), await text(page, "#boost-count")];
  await page.fill("#reply-text", "Lovely light on the water!");
  await Promise.all([page.waitForNavigation(), page.click("#send-reply")]);
  out.reply_url = page.url();
  out.replies = await page.$$eval(".replies .reply .content", (items) => items.map((i) => i.textContent.trim()));
  out.reply_count = await text(page, "#reply-count");
  // The reply's own page shows the thread above it.
  const replyLink = await page.getAttribute(".replies .reply header a[href*='/']:last-of-type", "href");
  await page.goto(replyLink);
  out.thread_above = await page.$$eval(".thread .reply .content", (items) => items.map((i) => i.textContent.trim()));

  await page.goto(`${base}/home`);
  out.home = await page.$$eval(".feed .post-card .content", (items) => items.map((i) => i.textContent.trim()));
  await page.fill("#site-search", word);
  await Promise.all([page.waitForNavigation(), page.press("#site-search", "Enter")]);
  out.search_posts = await page.$$eval("section[aria-labelledby=found-posts] .post-card .content", (items) => items.map((i) => i.textContent.trim()));
  out.search_people = await page.$$eval(".accounts li a", (items) => items.map((i) => i.textContent.trim()));
  await page.goto(`${base}/tags/${tag}`);
  out.tag_cards = await page.$$eval(".grid .card", (items) => items.map((i) => i.getAttribute("href")));
  await Promise.all([page.waitForNavigation(), page.click("#follow-tag")]);
  out.tag_button = await text(page, "#follow-tag");

  const other = alice.page;
  await logIn(other, "alice");
  await other.goto(`${base}/`);
  out.badge = await text(other, "#notifications-link");
  await other.click("#notifications-link");
  await other.waitForURL(/\/notifications/);
  out.notifications = await other.$$eval(".notification > p", (items) => items.map((i) => i.textContent.replace(/\s+/g, " ").trim()));
  await other.goto(`${base}/`);
  out.badge_after = await text(other, "#notifications-link");
  out.problems = [...bob.problems, ...alice.problems];
  console.log(JSON.stringify(out));
} catch (error) {
  console.error(`${error.stack}\nso far: ${JSON.stringify(out)}\nproblems: ${JSON.stringify([...bob.problems, ...alice.problems])}`);
  process.exitCode = 1;
} finally {
  await bob.context.close();
  await alice.context.close();
}
