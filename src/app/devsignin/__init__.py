"""A development sign-in: an OAuth 2.0 authorization server for a laptop.

It speaks the same protocol as the stack's Cognito web client (authorization
code with PKCE, OpenID discovery), so the web app has one sign-in code path:
against Cognito in the cloud, against this locally. There is no password: the
page asks for a user name and a role and issues tokens signed by the local
development key (``app.devtoken``), which only the ``local`` stage trusts.

``core`` is framework-free (the app mounts it with ``router``; the cloud twin
can serve the same object for its own issuer); ``page`` is its one HTML page.
"""
