"""What an app built on Mastodon.py does, against a Kaleido instance.

  mastodon_py.py register URL           -> {"client_id", "client_secret", "auth_url"}
  mastodon_py.py use URL ID SECRET CODE AVATAR PHOTO FRIEND
                                        -> what each call answered, as JSON
  mastodon_py.py signup URL USERNAME    -> the new account as the app sees it

The code comes from the consent page (the Rust test drives Chromium through it). Every answer
the test checks is printed; an exception ends the script with its message.
"""
import json
import sys
import time

from mastodon import Mastodon

SCOPES = ["read", "write", "follow"]


def register(url):
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py in the tests", api_base_url=url, scopes=SCOPES, website="https://example.org/app"
    )
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=url)
    auth_url = api.auth_request_url(scopes=SCOPES, allow_http=True)
    print(json.dumps({"client_id": client_id, "client_secret": client_secret, "auth_url": auth_url}))


def use(url, client_id, client_secret, code, avatar, photo, friend_name):
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=url)
    token = api.log_in(code=code, scopes=SCOPES, allow_http=True)
    out = {"token": bool(token)}
    instance = api.instance()
    out["instance_version"] = instance["version"]
    out["max_characters"] = instance["configuration"]["statuses"]["max_characters"]
    out["verified"] = api.account_verify_credentials()["username"]
    me = api.account_update_credentials(
        display_name="Py Thon", note="Written by #MastodonPy", avatar=avatar,
        fields=[("Made with", "Mastodon.py")],
    )
    out["display_name"] = me["display_name"]
    out["avatar"] = me["avatar"]
    out["fields"] = [[f["name"], f["value"]] for f in me["fields"]]
    media = api.media_post(photo, mime_type="image/jpeg", description="a test photo", focus=(0.5, -0.25))
    for _ in range(100):
        if media.get("url"):
            break
        time.sleep(0.1)
        media = api.media(media["id"])
    out["focus"] = [media["meta"]["focus"]["x"], media["meta"]["focus"]["y"]]
    status = api.status_post("Hello from Mastodon.py", media_ids=[media["id"]], visibility="public")
    out["status_text"] = status["content"]
    second = api.status_post("A second one")
    third = api.status_post("And a third", idempotency_key="py-third")
    again = api.status_post("And a third", idempotency_key="py-third")
    out["idempotent"] = again["id"] == third["id"]
    home = api.timeline_home(limit=5)
    out["home_first"] = home[0]["id"] == third["id"]
    # Paging as apps scroll: pages of two, through the Link header.
    page = api.timeline_home(limit=2)
    pages = [[s["id"] for s in page]]
    page = api.fetch_next(page)
    pages.append([s["id"] for s in page or []])
    out["home_pages"] = pages == [[third["id"], second["id"]], [status["id"]]]
    edited = api.status_update(status["id"], "Hello from Mastodon.py, edited", media_ids=[media["id"]])
    out["edited"] = [edited["content"], edited["edited_at"] is not None]
    out["history"] = [v["content"] for v in api.status_history(status["id"])]
    out["source"] = api.status_source(status["id"])["text"]
    favourited = api.status_favourite(status["id"])
    out["favourited"] = favourited["favourited"]
    boost = api.status_reblog(second["id"])
    out["reblogged"] = boost["reblogged"] and boost["reblog"]["id"] == second["id"]
    out["bookmarked"] = api.status_bookmark(second["id"])["bookmarked"]
    out["pinned"] = api.status_pin(second["id"])["pinned"]
    me_id = api.me()["id"]
    out["lists"] = {
        "favourites": [s["id"] == status["id"] for s in api.favourites()],
        "bookmarks": [s["id"] == second["id"] for s in api.bookmarks()],
        "pinned": [s["id"] == second["id"] for s in api.account_statuses(me_id, pinned=True)],
    }
    friend = api.account_lookup(friend_name)
    out["follow"] = api.account_follow(friend["id"])["following"]
    out["following"] = [a["username"] for a in api.account_following(me_id)]
    out["friend_followers"] = [a["username"] for a in api.account_followers(friend["id"])]
    api.markers_set(["home"], [third["id"]])
    out["marker"] = api.markers_get(["home"])["home"]["last_read_id"] == third["id"]
    api.revoke_access_token(allow_http=True)
    try:
        api.account_verify_credentials()
        out["revoked"] = False
    except Exception:  # any refusal: the token is dead
        out["revoked"] = True
    print(json.dumps(out))


def signup(url, username):
    client_id, client_secret = Mastodon.create_app("Mastodon.py signing up", api_base_url=url, scopes=SCOPES)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=url)
    api.create_account(username, "a long enough password", f"{username}@example.org", agreement=True,
                       locale="en", scopes=SCOPES)
    me = api.account_verify_credentials()
    app = api.app_verify_credentials()
    print(json.dumps({"username": me["username"], "privacy": me["source"]["privacy"], "app": app["name"]}))


if __name__ == "__main__":
    if sys.argv[1] == "register":
        register(sys.argv[2])
    elif sys.argv[1] == "signup":
        signup(sys.argv[2], sys.argv[3])
    else:
        use(*sys.argv[2:9])
