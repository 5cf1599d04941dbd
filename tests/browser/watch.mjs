// Uploads a video through the upload page in real Chromium, waits for the post, then plays it
// and switches rendition. Usage: node watch.mjs BASE_URL USERNAME PASSWORD VIDEO
// Prints one JSON line; exits non-zero with the reason when a step fails.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, username, password, video] = process.argv.slice(2);
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "kaleido-chromium-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ],
});
const page = context.pages()[0] || (await context.newPage());
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("response", (response) => {
  if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
});

try {
  await page.goto(`${base}/upload`);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`${base}/upload`), page.click("button[type=submit]")]);
  await page.setInputFiles("#files", [video]);
  await page.locator(".item .alt").first().fill("A test pattern with a tone");
  await page.fill("#caption", "Test pattern");
  const states = [];
  const watcher = setInterval(async () => {
    try { states.push(await page.textContent(".item .state")); } catch { /* page left */ }
  }, 50);
  await Promise.all([page.waitForURL(new RegExp(`/@${username}/`), { timeout: 120_000 }), page.click("#post")]);
  clearInterval(watcher);

  await page.waitForSelector("[data-player] video");
  await page.waitForFunction(() => document.querySelector("[data-player]").hls?.levels?.length > 0, null, { timeout: 30_000 });
  const result = await page.evaluate(async () => {
    const player = document.querySelector("[data-player]");
    const video = player.querySelector("video");
    const hls = player.hls;
    const report = { engine: hls && window.Hls.isSupported() ? "hls.js" : "native", levels: hls.levels.map((l) => l.height) };
    const loaded = [];
    hls.on(window.Hls.Events.FRAG_LOADED, (_, data) => loaded.push(data.frag.level));
    video.muted = true;
    await video.play();
    const deadline = Date.now() + 30_000;
    while (video.currentTime < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    report.playedTo = video.currentTime;
    // Ask for the smallest rendition through the quality menu, as a viewer would.
    const select = player.querySelector("select.quality");
    const smallest = hls.levels.reduce((best, level, index) => (level.height < hls.levels[best].height ? index : best), 0);
    select.value = String(smallest);
    select.dispatchEvent(new Event("change"));
    const until = Date.now() + 20_000;
    while (!loaded.includes(smallest) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    report.switchedTo = loaded.includes(smallest) ? hls.levels[smallest].height : null;
    report.menu = [...select.options].map((o) => o.textContent);
    report.poster = video.getAttribute("poster");
    return report;
  });
  // A browser without Media Source Extensions gets the progressive MP4 instead.
  const plain = await context.newPage();
  await plain.addInitScript(() => { delete window.MediaSource; delete window.ManagedMediaSource; });
  await plain.goto(page.url());
  const fallback = await plain.evaluate(async () => {
    const video = document.querySelector("[data-player] video");
    video.muted = true;
    await video.play();
    const deadline = Date.now() + 20_000;
    while (video.currentTime < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return { src: video.currentSrc, playedTo: video.currentTime, hls: Boolean(document.querySelector("[data-player]").hls) };
  });
  console.log(JSON.stringify({ url: page.url(), states, problems, fallback, ...result }));
} catch (error) {
  console.error(`browser test failed at ${page.url()}: ${error.message}`);
  console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await context.close();
}
