# Included by the Makefile: the web app (web/), its checks and its build.
#
# Node comes from the machine (Vite 8 needs Node 20.19 or newer; the machine image
# ships Node 20). Where node is missing, Debian's nodejs and npm are installed, and
# the version check says plainly when that Node is too old. npm packages come from
# web/package-lock.json (integrity hashes, no download addresses) through `npm ci`.
NODE := $(or $(shell command -v node 2>/dev/null),/usr/bin/node)
WEB := web
WEB_NPM := $(WEB)/node_modules/.installed
WEB_TMP := $(WEB)/node_modules/.tmp
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) $(WEB)/index.html \
	$(WEB)/vite.config.ts $(WEB)/tsconfig.json $(WEB)/tsconfig.app.json
WEB_DIST := $(WEB)/dist/index.html

.PHONY: node web-check web-api web-api-check web-build screenshots web-publish

/usr/bin/node:
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm

NODE_CHECK := const [a, b] = process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 19)) { console.error("error: Node " + process.versions.node + " is too old for the web app: Vite 8 needs Node 20.19 or newer"); process.exit(1); }
node: $(NODE)
	@node -e '$(NODE_CHECK)'

$(WEB_NPM): $(WEB)/package-lock.json $(WEB)/package.json | node
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(WEB_TMP)
	touch $@

# The API client's types, generated from the app's OpenAPI document (no server needed).
web-api: $(VENV)/.installed $(WEB_NPM)
	$(PY) $(WEB)/scripts/dump_openapi.py > $(WEB_TMP)/openapi.json
	cd $(WEB) && npx openapi-typescript node_modules/.tmp/openapi.json -o src/api/schema.d.ts

# Fails when the committed client is stale: an API change that breaks the page breaks the build.
web-api-check: $(VENV)/.installed $(WEB_NPM)
	@$(PY) $(WEB)/scripts/dump_openapi.py > $(WEB_TMP)/openapi.json
	@cd $(WEB) && npx openapi-typescript node_modules/.tmp/openapi.json -o node_modules/.tmp/schema.d.ts >/dev/null
	@diff -u $(WEB)/src/api/schema.d.ts $(WEB_TMP)/schema.d.ts >/dev/null || { \
	  diff -u $(WEB)/src/api/schema.d.ts $(WEB_TMP)/schema.d.ts | head -40; \
	  echo "error: web/src/api/schema.d.ts is stale (the API changed): run make web-api and check the page still builds" >&2; \
	  exit 1; }
	@echo "web: the generated API client matches the app's OpenAPI document"

web-check: $(WEB_NPM) web-api-check
	@test "$$(grep -c '"resolved"' $(WEB)/package-lock.json)" = 0 || { echo "error: web/package-lock.json names download addresses" >&2; exit 1; }
	cd $(WEB) && npx tsc -b
	cd $(WEB) && npx eslint --max-warnings 0 .
	cd $(WEB) && npx vitest run

$(WEB_DIST): $(WEB_NPM) $(WEB_SOURCES)
	cd $(WEB) && npx tsc -b && npx vite build --logLevel warn
	@touch $@

web-build: $(WEB_DIST)

# The page's pictures in the README, made by the browser journeys from the real app.
screenshots: $(VENV)/.installed $(WEB_DIST) $(CHROMIUM)
	WEB_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q -p no:cacheprovider tests/web

# Upload the build to a deployed stack's site bucket only (make deploy does this too):
#   make web-publish ENV=default|prod   (ops/deploy.py --publish-only; AWS_REGION set)
web-publish: $(VENV)/.installed $(WEB_DIST)
	$(PY) -m ops.deploy --env "$(or $(ENV),default)" --publish-only --no-smoke --site $(WEB)/dist
