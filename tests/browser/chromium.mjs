// Debian's Chromium, headless, in a profile of its own: how every browser test here starts.
// `problems` collects page errors and, unless asked not to, every answer of 400 or more, so a
// test can say the page worked without a broken request hiding behind it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export async function open({ failedResponses = true, javaScript = true } = {}) {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "kaleido-chromium-")), {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    javaScriptEnabled: javaScript,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  if (failedResponses) {
    page.on("response", (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
    });
  }
  return { context, page, problems };
}
