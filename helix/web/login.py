"""The login page (plain HTML, not NiceGUI) and the answers to visitors without a session."""

from __future__ import annotations

from html import escape

from helix.web.asgi import HTML, Receive, Scope, Send, close_websocket, header, read_form, respond
from helix.web.guard import COOKIE, LOGIN, PREFIX, Guard, cookie_value

NOT_FRAMED = (b"content-security-policy", b"frame-ancestors 'none'")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Helix dashboard: log in</title><link rel="icon" href="data:,">
<style>
  body {{ font-family: system-ui, sans-serif; background: #f5f6f8; color: #1f2937; margin: 0;
         display: flex; min-height: 100vh; align-items: center; justify-content: center; }}
  form {{ background: #fff; padding: 2rem; border-radius: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.12);
         width: 22rem; display: flex; flex-direction: column; gap: .8rem; }}
  h1 {{ font-size: 1.3rem; margin: 0; }}
  input {{ font: inherit; padding: .55rem .7rem; border: 1px solid #cbd5e1; border-radius: 8px; }}
  button {{ font: inherit; padding: .6rem; border: 0; border-radius: 8px; background: #4f46e5; color: #fff;
           cursor: pointer; }}
  .error {{ color: #b91c1c; margin: 0; }}
  .hint {{ color: #6b7280; font-size: .85rem; margin: 0; }}
</style></head>
<body><form method="post" action="{action}">
  <h1>Helix dashboard</h1>
  {error}
  <label for="admin_key">Admin key</label>
  <input id="admin_key" name="admin_key" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Log in</button>
  <p class="hint">The admin key is <code>[auth] admin_key</code> in helix.toml (or HELIX_AUTH__ADMIN_KEY).</p>
</form></body></html>
"""


def page(error: str = "") -> str:
    return _PAGE.format(action=LOGIN, error=f'<p class="error">{escape(error)}</p>' if error else "")


def _cookie(scope: Scope, value: str, max_age: float) -> tuple[bytes, bytes]:
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    cookie = f"{COOKIE}={value}; Path={PREFIX}; Max-Age={int(max_age)}; HttpOnly; SameSite=Strict{secure}"
    return b"set-cookie", cookie.encode()


async def login(scope: Scope, receive: Receive, send: Send, guard: Guard) -> None:
    if scope["method"] in ("GET", "HEAD"):
        await respond(send, 200, page(), HTML, [NOT_FRAMED])
        return
    if scope["method"] != "POST":
        await respond(send, 405, "use GET or POST", headers=[(b"allow", b"GET, POST")])
        return
    form = await read_form(receive)
    if form is None or not guard.is_admin_key(form.get("admin_key", "")):
        await respond(send, 401, page("That is not the admin key."), HTML, [NOT_FRAMED])
        return
    token, _ = await guard.sessions.start()
    location = (b"location", f"{PREFIX}/".encode())
    await respond(send, 303, "", headers=[location, _cookie(scope, token, guard.sessions.ttl_seconds)])


async def logout(scope: Scope, send: Send, guard: Guard) -> None:
    """Ends the session on the server (the cookie is worthless from now on, wherever it was copied)."""
    token = cookie_value(scope["headers"])
    if token is not None:
        await guard.sessions.end(token)
    await respond(send, 303, "", headers=[(b"location", LOGIN.encode()), _cookie(scope, "", 0)])


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    """No session: browsers are sent to the login page, everything else (assets, sockets, scripts) gets a 401."""
    if scope["type"] == "websocket":
        await close_websocket(receive, send)
    elif scope["method"] in ("GET", "HEAD") and "text/html" in header(scope, b"accept"):
        await respond(send, 303, "", headers=[(b"location", LOGIN.encode())])
    else:
        await respond(send, 401, f"log in at {LOGIN} or send 'Authorization: Bearer <[auth] admin_key>'\n", headers=[])


async def forbid(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    if scope["type"] == "websocket":
        await close_websocket(receive, send)
    else:
        await respond(send, 403, message + "\n")
