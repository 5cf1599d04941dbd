// masto.js's streaming client, as Elk and Phanpy use it, watching one server while someone on
// another posts. Usage:
//   node streaming.mjs WATCH_URL WATCH_TOKEN POST_URL POST_TOKEN TEXT TAG
// Subscribes (one WebSocket, the token as its subprotocol) to `user` and `hashtag` TAG on
// WATCH_URL, then posts TEXT on POST_URL, edits it and deletes it. Prints one JSON line: what
// arrived on each stream, in order.
import { createRestAPIClient, createStreamingAPIClient } from "masto";

const [watchUrl, watchToken, postUrl, postToken, text, tag] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seen = { user: [], hashtag: [] };
let done;
const finished = new Promise((resolve) => (done = resolve));

function record(where, event) {
  const payload = event.payload;
  const entry = { event: event.event, stream: event.stream };
  if (event.event === "update" || event.event === "status.update") {
    entry.uri = payload.uri;
    entry.content = payload.content;
    entry.id = payload.id;
  } else if (event.event === "notification") {
    entry.type = payload.type;
    entry.from = payload.account.acct;
    entry.uri = payload.status?.uri;
  } else if (event.event === "delete") {
    entry.id = payload;
  }
  seen[where].push(entry);
  if (seen.user.some((e) => e.event === "delete")) done();
}

try {
  const watcher = createRestAPIClient({ url: watchUrl, accessToken: watchToken });
  const instance = await watcher.v2.instance.fetch();
  const streaming = createStreamingAPIClient({
    streamingApiUrl: instance.configuration.urls.streaming,
    accessToken: watchToken,
    retry: 3,
  });
  const consume = async (where, subscription) => {
    for await (const event of subscription) record(where, event);
  };
  consume("user", streaming.user.subscribe()).catch((e) => console.error(e));
  consume("hashtag", streaming.hashtag.subscribe({ tag })).catch((e) => console.error(e));
  // The subscriptions go out once the socket is open.
  await sleep(1500);

  const poster = createRestAPIClient({ url: postUrl, accessToken: postToken });
  const posted = await poster.v1.statuses.create({ status: text });
  await sleep(1500);
  await poster.v1.statuses.$select(posted.id).update({ status: `${text} (edited)` });
  await sleep(1500);
  await poster.v1.statuses.$select(posted.id).remove();
  const timeout = sleep(20000).then(() => "timeout");
  const how = await Promise.race([finished.then(() => "complete"), timeout]);
  streaming.close();
  console.log(JSON.stringify({ how, uri: posted.uri, seen }));
  process.exit(0);
} catch (error) {
  console.error(`${error.stack}\nso far: ${JSON.stringify(seen)}`);
  process.exit(1);
}
