"""The sign-in page: a plain form, no script at all (its CSP allows none)."""

from __future__ import annotations

from html import escape

# Served as its own file so the page's CSP needs no 'unsafe-inline' for styles.
STYLESHEET = b"""
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f3ee; color: #222; }
main { max-width: 26rem; margin: 2rem auto; padding: 1.5rem; background: #fff;
       border-radius: .75rem; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.3rem; margin-top: 0; }
label, legend { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input[type=text] { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem;
                   border: 1px solid #888; border-radius: .4rem; }
fieldset { border: 0; padding: 0; margin: 0; }
fieldset label { font-weight: 400; display: flex; gap: .5rem; align-items: center; }
button { margin-top: 1.25rem; font: inherit; padding: .6rem 1.2rem; border: 0; border-radius: .4rem;
         background: #9c2f12; color: #fff; cursor: pointer; }
button:focus-visible, input:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.note { color: #555; font-size: .9rem; }
.error { color: #9c2f12; }
"""

ROLES = {
    "customer": "Customer: order and follow my orders",
    "staff": "Staff: the kitchen board",
    "chef": "Chef: edit the menu",
}


def sign_in_page(action: str, stylesheet: str, hidden: dict[str, str], error: str = "") -> bytes:
    fields = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    roles = "\n".join(
        f'<label><input type="radio" name="role" value="{role}"{" checked" if role == "customer" else ""}>'
        f"{escape(text)}</label>"
        for role, text in ROLES.items()
    )
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Development sign-in</title>
<link rel="stylesheet" href="{escape(stylesheet)}">
</head><body><main>
<h1>Development sign-in</h1>
<p class="note">Local only: no password. Pick a name and a role; the tokens are signed with this
machine's development key, which no deployed stack trusts.</p>
{problem}
<form method="post" action="{escape(action)}">
{fields}
<label for="username">User name</label>
<input id="username" name="username" type="text" value="alice" required maxlength="64"
       pattern="[A-Za-z0-9._\\-]{{1,64}}" autocomplete="username" autofocus>
<fieldset><legend>Role</legend>
{roles}
</fieldset>
<button type="submit">Sign in</button>
</form>
</main></body></html>
""".encode()


def error_page(message: str) -> bytes:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head>
<body><main><h1>Sign-in error</h1><p>{escape(message)}</p></main></body></html>
""".encode()
