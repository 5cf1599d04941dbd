// Uploads a file to Kaleido with tus-js-client, the reference tus client (also inside Uppy),
// in small chunks. Usage: node tus-upload.mjs BASE_URL TOKEN FILE
// Prints one JSON line with the media id and the number of PATCH requests.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import * as tus from "tus-js-client";

const [base, token, file] = process.argv.slice(2);
const data = readFileSync(file);
let patches = 0;
let mediaId = null;
await new Promise((resolve, reject) => {
  const upload = new tus.Upload(data, {
    endpoint: `${base}/api/v1/tus`,
    chunkSize: 64 * 1024,
    retryDelays: [0, 200],
    headers: { Authorization: `Bearer ${token}` },
    metadata: { filename: basename(file), description: "sent with tus-js-client" },
    onAfterResponse: (request, response) => {
      if (request.getMethod() === "PATCH") patches += 1;
      mediaId = response.getHeader("Kaleido-Media-Id") || mediaId;
    },
    onError: reject,
    onSuccess: resolve,
  });
  upload.start();
});
console.log(JSON.stringify({ mediaId, patches, bytes: data.length }));
