// What an app built on masto.js (the library of Elk and Phanpy) does, against a Kaleido
// instance. Usage:
//   node masto.mjs URL USERNAME PASSWORD FRIEND AVATAR PHOTO
// Registers an app, authorizes it in Chromium as a public client with PKCE (no secret), then
// reads the instance, updates the profile with an avatar, uploads, posts, edits, pages the home
// timeline through its Link headers, favourites, boosts, bookmarks and pins, lists each, follows
// FRIEND, keeps a marker, and revokes. Prints one JSON line of what each call answered.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createOAuthAPIClient, createRestAPIClient } from "masto";
import { consent } from "./consent.mjs";

const [url, username, password, friend, avatarPath, photoPath] = process.argv.slice(2);
const redirectUri = "http://app.invalid/callback";
const scopes = "read write follow";
const out = {};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const jpeg = (path) => new Blob([readFileSync(path)], { type: "image/jpeg" });

try {
  const app = await createRestAPIClient({ url }).v1.apps.create({
    clientName: "masto.js in the tests",
    redirectUris: redirectUri,
    scopes,
    website: "https://example.org/masto",
  });
  out.app_name = app.name;

  const verifier = randomBytes(48).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const authorize = new URL("/oauth/authorize", url);
  for (const [key, value] of Object.entries({
    response_type: "code",
    client_id: app.clientId,
    redirect_uri: redirectUri,
    scope: scopes,
    code_challenge: challenge,
    code_challenge_method: "S256",
  })) {
    authorize.searchParams.set(key, value);
  }
  const seen = await consent(authorize.toString(), username, password);
  out.consent_scopes = seen.scopes;
  const oauth = createOAuthAPIClient({ url });
  // A public client: the verifier proves it is the app that asked, with no secret.
  const token = await oauth.token.create({
    grantType: "authorization_code",
    clientId: app.clientId,
    redirectUri,
    code: seen.code,
    codeVerifier: verifier,
    scope: scopes,
  });
  out.token_scope = token.scope;
  const masto = createRestAPIClient({ url, accessToken: token.accessToken });

  const instance = await masto.v2.instance.fetch();
  out.version = instance.version;
  out.max_characters = instance.configuration.statuses.maxCharacters;
  out.takes_jpeg = instance.configuration.mediaAttachments.supportedMimeTypes.includes("image/jpeg");

  const me = await masto.v1.accounts.verifyCredentials();
  out.username = me.username;
  const updated = await masto.v1.accounts.updateCredentials({
    displayName: "Mas To",
    note: "Posting from #masto",
    avatar: jpeg(avatarPath),
    fieldsAttributes: [{ name: "Made with", value: "masto.js" }],
  });
  out.display_name = updated.displayName;
  out.avatar_stored = updated.avatar.includes("/files/accounts/");
  out.fields = updated.fields.map((f) => [f.name, f.value]);

  let media = await masto.v2.media.create({ file: jpeg(photoPath), description: "first words", focus: "0.5,-0.25" });
  for (let i = 0; i < 100 && !media.url; i++) {
    await sleep(100);
    media = await masto.v1.media.$select(media.id).fetch();
  }
  out.focus = [media.meta.focus.x, media.meta.focus.y];
  media = await masto.v1.media.$select(media.id).update({ description: "a heron in the reeds" });
  out.description = media.description;

  const first = await masto.v1.statuses.create({ status: "heron, first light", mediaIds: [media.id], language: "en" });
  const second = await masto.v1.statuses.create({ status: "reeds at noon", visibility: "public" });
  const third = await masto.v1.statuses.create({ status: "dusk" });
  out.language = first.language;
  out.application = first.application?.name ?? null;

  const edited = await masto.v1.statuses.$select(first.id).update({ status: "heron, first light (edited)", mediaIds: [media.id] });
  out.edited_content = edited.content;
  out.edited = edited.editedAt !== null;
  out.history = (await masto.v1.statuses.$select(first.id).history.list()).map((v) => v.content);
  out.source = (await masto.v1.statuses.$select(first.id).source.fetch()).text;

  // Pages of two, followed through the Link header as apps scroll.
  const paged = [];
  for await (const page of masto.v1.timelines.home.list({ limit: 2 })) {
    paged.push(page.map((s) => s.id));
    if (paged.length === 3) break;
  }
  out.home_pages = paged.map((ids) => ids.length);
  out.home_order = paged.flat().join(",") === [third.id, second.id, first.id].join(",");

  const s = masto.v1.statuses.$select(second.id);
  out.favourited = (await s.favourite()).favourited;
  const boost = await s.reblog();
  out.reblogged = boost.reblogged && boost.reblog?.id === second.id;
  out.bookmarked = (await s.bookmark()).bookmarked;
  out.pinned = (await s.pin()).pinned;
  out.favourites = (await masto.v1.favourites.list()).map((x) => x.id).includes(second.id);
  out.bookmarks = (await masto.v1.bookmarks.list()).map((x) => x.id).includes(second.id);
  out.pins = (await masto.v1.accounts.$select(me.id).statuses.list({ pinned: true })).map((x) => x.id);
  out.pins_expected = [second.id];
  out.reblogged_by = (await s.rebloggedBy.list()).map((a) => a.username);
  out.favourited_by = (await s.favouritedBy.list()).map((a) => a.username);

  const other = await masto.v1.accounts.lookup({ acct: friend });
  out.following = (await masto.v1.accounts.$select(other.id).follow()).following;
  out.following_list = (await masto.v1.accounts.$select(me.id).following.list()).map((a) => a.username);
  out.followers_of_friend = (await masto.v1.accounts.$select(other.id).followers.list()).map((a) => a.username);
  const [relationship] = await masto.v1.accounts.relationships.fetch({ id: [other.id] });
  out.relationship = { following: relationship.following, showingReblogs: relationship.showingReblogs };

  await masto.v1.markers.create({ home: { lastReadId: third.id } });
  const markers = await masto.v1.markers.fetch({ timeline: ["home"] });
  out.marker = markers.home?.lastReadId === third.id;

  out.preferences_visibility = (await masto.v1.preferences.fetch())["posting:default:visibility"];
  out.lists = await masto.v1.lists.list();

  await oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: token.accessToken });
  try {
    await masto.v1.accounts.verifyCredentials();
    out.revoked = false;
  } catch (error) {
    out.revoked = error.statusCode === 401;
  }
  console.log(JSON.stringify(out));
} catch (error) {
  console.error(`${error.stack}\nso far: ${JSON.stringify(out)}`);
  process.exitCode = 1;
}
