// Plays a video page in real Chromium while the test kills the video's origin, then loads the
// page again with the origin gone. Usage: node failover.mjs PAGE_URL MARK_DIR
// Handshake through files in MARK_DIR: this script writes `playing`, the test writes `killed`.
// Prints one JSON line; exits non-zero with the reason when a step fails.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [pageUrl, marks] = process.argv.slice(2);
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
// Every visit fetches afresh, as a new viewer would: nothing is served from the HTTP cache.
const cdp = await context.newCDPSession(page);
await cdp.send("Network.enable");
await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
const fragments = [];
const failed = [];
page.on("requestfinished", async (request) => {
  // A request that finishes as the browser closes has no response to read any more; that is
  // the end of the run, not a failure of it (it made the script exit non-zero after its report).
  const response = await request.response().catch(() => null);
  if (request.url().endsWith(".mp4") && response && response.status() < 400) fragments.push(request.url());
});
page.on("requestfailed", (request) => failed.push(request.url()));

async function start() {
  await page.waitForFunction(() => document.querySelector("[data-player]")?.hls?.levels?.length > 0, null, { timeout: 30_000 });
  return page.evaluate(async () => {
    const player = document.querySelector("[data-player]");
    window.__hlsErrors = window.__hlsErrors || [];
    player.hls.on(window.Hls.Events.ERROR, (_, d) => window.__hlsErrors.push(`${d.details} fatal=${d.fatal} ${d.url || d.frag?.url || ""} ${d.response?.code || ""}`));
    const video = player.querySelector("video");
    video.muted = true;
    video.playbackRate = 2;
    await video.play();
    const deadline = Date.now() + 20_000;
    while (video.currentTime < 1.5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return video.currentTime;
  });
}

// Samples playback until it has advanced `seconds` (or `limitMs` passed); the longest time
// the picture stood still while it should have been playing is the stall a viewer would see.
function watch(seconds, limitMs) {
  return page.evaluate(async ([seconds, limitMs]) => {
    const video = document.querySelector("[data-player] video");
    const from = video.currentTime;
    let last = from, still = Date.now(), longest = 0;
    const deadline = Date.now() + limitMs;
    while (video.currentTime < from + seconds && !video.ended && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      if (video.currentTime > last) { last = video.currentTime; still = Date.now(); }
      longest = Math.max(longest, Date.now() - still);
    }
    return { from, to: video.currentTime, longestStallMs: longest, ended: video.ended };
  }, [seconds, limitMs]);
}

try {
  await page.goto(pageUrl);
  const before = await start();
  writeFileSync(join(marks, "playing"), "");
  const until = Date.now() + 30_000;
  while (!existsSync(join(marks, "killed")) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(join(marks, "killed"))) throw new Error("the test never killed the origin");
  const firstCount = fragments.length;
  // Further than the player buffers ahead (at most twenty seconds), so fragments must come
  // after the kill.
  const afterKill = await watch(22, 40_000);
  const fragmentsAfterKill = fragments.slice(firstCount);
  // A fresh visit with the origin gone.
  const reloadCount = fragments.length;
  await page.goto(pageUrl);
  const reloaded = await start();
  const afterReload = await watch(2, 20_000);
  const fragmentsAfterReload = fragments.slice(reloadCount);
  const errors = await page.evaluate(() => window.__hlsErrors || []);
  const engine = await page.evaluate(() => Boolean(document.querySelector("[data-player]").hls?.media));
  console.log(JSON.stringify({ before, afterKill, fragmentsAfterKill, reloaded, afterReload, fragmentsAfterReload, failed, errors, engine }));
} catch (error) {
  const errors = await page.evaluate(() => window.__hlsErrors || []).catch(() => []);
  console.error(`failover test failed at ${page.url()}: ${error.stack}\nhls.js errors: ${JSON.stringify(errors)}`);
  process.exitCode = 1;
} finally {
  await context.close();
}
