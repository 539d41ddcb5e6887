"""Swagger UI and ReDoc served by the app itself, assets included.

FastAPI's default pages load their assets from a CDN, which these machines
(and many corporate networks) cannot reach, and their inline script needs a
weaker Content-Security-Policy. The assets come from the ``fastapi-offline``
package's static folder, located without importing the package; the pages
have no inline script (``swagger-init.js`` reads the spec URL from the page).
"""
