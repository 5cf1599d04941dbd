// Logs in through the web UI in real Chromium, uploads two photos with alt text on the upload
// page, posts, and reports what the post page shows. Usage:
//   node upload.mjs BASE_URL USERNAME PASSWORD PHOTO1 PHOTO2
// Prints one JSON line; exits non-zero with the reason when a step fails.
import { open } from "./chromium.mjs";

const [base, username, password, first, second] = process.argv.slice(2);
const { context, page, problems } = await open();
page.on("console", (message) => {
  // Failed loads are reported with their address by the response listener of chromium.mjs.
  if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
    problems.push(`console: ${message.text()}`);
  }
});

try {
  await page.goto(`${base}/upload`);
  // Not logged in: sent to the login form, which brings us back.
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`${base}/upload`), page.click("button[type=submit]")]);

  // A slow uplink (about 1 Mbit/s), so progress is visible as it would be on a phone.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 128 * 1024,
  });
  await page.setInputFiles("#files", [first, second]);
  await page.locator(".item .alt").nth(0).fill("A red fox sitting in fresh snow");
  await page.locator(".item .alt").nth(1).fill("The fox trotting away between pine trees");
  await page.fill("#caption", "Foxes this morning");

  // Record every value the progress bars take, to show they really move.
  await page.evaluate(() => {
    window.__progress = [];
    for (const bar of document.querySelectorAll("progress")) {
      const descriptor = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, "value");
      Object.defineProperty(bar, "value", {
        get() { return descriptor.get.call(this); },
        set(v) { window.__progress.push(v); descriptor.set.call(this, v); },
      });
    }
  });
  const progress = [];
  const navigated = page.waitForURL(new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/@${username}/`), { timeout: 90_000 });
  await page.click("#post");
  // Sample the progress values until the page leaves.
  const sampler = (async () => {
    for (;;) {
      try { progress.push(...(await page.evaluate(() => window.__progress.splice(0)))); }
      catch { return; }
      await new Promise((done) => setTimeout(done, 25));
    }
  })();
  await navigated;
  await sampler.catch(() => {});

  await page.waitForSelector(".slides img");
  const alts = await page.$$eval(".slides img", (images) => images.map((img) => img.alt));
  const loaded = await page.$$eval(".slides img", (images) =>
    Promise.all(images.map((img) => {
      img.loading = "eager";
      const report = () => ({ width: img.naturalWidth, src: img.currentSrc });
      return img.complete && img.naturalWidth ? report() : new Promise((done) => {
        img.addEventListener("load", () => done(report()));
        img.addEventListener("error", () => done({ width: 0, src: img.currentSrc }));
      });
    })));
  const caption = await page.textContent(".content");
  console.log(JSON.stringify({ url: page.url(), alts, loaded, caption, progress, problems }));
} catch (error) {
  console.error(`browser test failed at ${page.url()}: ${error.message}`);
  console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await context.close();
}
