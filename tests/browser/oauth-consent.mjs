// The consent page from the command line, for the Rust tests. Usage:
//   node oauth-consent.mjs AUTHORIZE_URL USERNAME PASSWORD approve|deny
// Prints one JSON line: what `consent` (consent.mjs) saw and where the browser ended.
import { consent } from "./consent.mjs";

const [authorizeUrl, username, password, decision] = process.argv.slice(2);
try {
  console.log(JSON.stringify(await consent(authorizeUrl, username, password, decision)));
} catch (error) {
  console.error(error.message);
  process.exitCode = 1;
}
