# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Everything is installed from hashed pins in requirements/*.txt.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.13, and `sam build` needs a matching python3.13
# on PATH. pyenv installs it without a working shim, so look for it directly.
PY313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
PY312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
PY311 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11*/bin/python3.11) $(shell command -v python3.11 2>/dev/null))
export PATH := $(dir $(PY313)):$(PATH)
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

VENV := .venv
PY := $(VENV)/bin/python
SAM := .venv-sam/bin/sam
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium

# make web-check, web-api, web-build, screenshots (the web app, web/). Included
# here, before any rule names $(WEB_DIST) or $(WEB_NPM) as a prerequisite: make
# expands prerequisites as it reads them, so a later include would leave them empty.
include $(dir $(firstword $(MAKEFILE_LIST)))web/web.mk

.PHONY: help run test docs docs-build docs-screenshots lint lint-infra typecheck pytest compat validate build lock events clean browser cloud cloud-token smoke deploy user mutate

help:
	@echo "make run    install what is needed and serve on http://$(HOST):$(PORT) (docs at /docs)"
	@echo "make test   install what is needed and run every test and check"
	@echo "make docs   the guides as a site on http://127.0.0.1:8001/ (make docs-build: strict, into .site/)"
	@echo "make screenshots  the web app's pictures in docs/screenshots, from the browser journeys"
	@echo "make build  sam build (arm64, as deployed)"
	@echo "make cloud  the stack as deployed on this machine: the built artifact behind the HTTP API twin"
	@echo "make deploy ENV=default|prod   sam build, sam deploy, the web app's upload, the smoke suite"
	@echo "make smoke URL=...             the post-deploy smoke suite against any base URL"
	@echo "make user ENV=... EMAIL=... ROLE=customer|staff|chef   invite a person or change their role (REMOVE=1 removes)"
	@echo "make bench  benchmark against the baselines: one table, JSON in bench/results/"
	@echo "make lock   re-pin requirements/*.txt from requirements/*.in (needs network)"
	@echo "make mutate mutation testing with mutmut (long; MUTANTS='app.http.etags*' narrows it)"
	@echo "make mutate-audit  the one-line mutants mutmut cannot reach (twin, template), devtools/mutants.toml"

# venv(dir, python, requirements): a virtual environment installed from hashed pins,
# with src/ on its path (a .pth file: no build backend to fetch, nothing unpinned).
define venv
	@test -n "$(2)" || { echo "error: $(3) needs a Python interpreter that was not found" >&2; exit 1; }
	rm -rf $(1)
	$(2) -m venv $(1)
	$(1)/bin/pip install --quiet --require-hashes --no-deps -r $(3)
	$(1)/bin/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'serverless_api_src.pth').write_text('$(CURDIR)/src\n')"
	touch $(1)/.installed
endef

$(VENV)/.installed: requirements/dev.txt
	$(call venv,$(VENV),$(PY313),requirements/dev.txt)

.venv-sam/.installed: requirements/sam.txt
	@test -n "$(PY313)" || { echo "error: python3.13 not found" >&2; exit 1; }
	rm -rf .venv-sam
	$(PY313) -m venv .venv-sam
	.venv-sam/bin/pip install --quiet --require-hashes -r requirements/sam.txt
	touch $@

# The cloud twin's Lambda workers: the runtime interface client and the boto3 that the
# python3.13 runtime provides, and nothing else (no .pth to src/: they run the artifact).
.venv-lambda/.installed: requirements/lambda-runtime.txt
	@test -n "$(PY313)" || { echo "error: python3.13 not found" >&2; exit 1; }
	rm -rf .venv-lambda
	$(PY313) -m venv .venv-lambda
	.venv-lambda/bin/pip install --quiet --require-hashes --no-deps -r requirements/lambda-runtime.txt
	touch $@

# Linters for the workflows and templates (make lint-infra).
.venv-lint/.installed: requirements/lint.txt
	@test -n "$(PY313)" || { echo "error: python3.13 not found" >&2; exit 1; }
	rm -rf .venv-lint
	$(PY313) -m venv .venv-lint
	.venv-lint/bin/pip install --quiet --require-hashes -r requirements/lint.txt
	touch $@

.venv-py311/.installed: requirements/dev.txt
	$(call venv,.venv-py311,$(PY311),requirements/dev.txt)

.venv-py312/.installed: requirements/dev.txt
	$(call venv,.venv-py312,$(PY312),requirements/dev.txt)

# The API and the web app side by side, cross-origin as in the cloud; Ctrl-C stops both.
# (Background jobs of a non-interactive shell ignore SIGINT, hence the trap.)
run: $(VENV)/.installed $(WEB_NPM)
	@echo "make run: API on http://$(HOST):$(PORT) (docs /docs), web app on http://localhost:5173; Ctrl-C stops both"
	@case "$(HOST)" in 127.*|localhost|::1) ;; *) echo "make run: WARNING: HOST=$(HOST) reaches beyond this machine;" \
	  "the development sign-in answers on loopback only (app.devsignin.router)";; esac
	@$(VENV)/bin/uvicorn app.main:app --host $(HOST) --port $(PORT) --no-proxy-headers & api=$$!; \
	(cd $(WEB) && exec node node_modules/vite/bin/vite.js --clearScreen false) & web=$$!; \
	trap 'kill $$api $$web 2>/dev/null; wait; exit 0' INT TERM; \
	wait -n; kill $$api $$web 2>/dev/null; wait

# The guides (docs/, mkdocs.yml): Material for MkDocs. The strict build fails on a
# broken link or anchor, a missing include and a page left out of the navigation;
# tests/docs runs the shell snippets the pages tell a reader to type.
export NO_MKDOCS_2_WARNING := 1
DOCS_PORT ?= 8001
docs: $(VENV)/.installed
	$(VENV)/bin/mkdocs serve -a 127.0.0.1:$(DOCS_PORT)

docs-build: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict --quiet

# The site's pictures (home page, one guide, the README at phone width) in
# docs/screenshots, from the strict build, in headless Chromium. Material for MkDocs
# loads Mermaid from a CDN, which the pictures do not reach: MERMAID_JS=path/to/
# mermaid.min.js (from `npm pack mermaid@11`) draws the diagrams; without, their text.
docs-screenshots: docs-build $(CHROMIUM)
	$(PY) -m devtools.docs_screenshots $(if $(MERMAID_JS),--mermaid $(MERMAID_JS))

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench twin ops devtools web/scripts
	$(VENV)/bin/ruff format --check src tests bench twin ops devtools web/scripts
	$(VENV)/bin/mypy

# Headless Chromium for tests/browser, from Debian's package (it is not on a fresh
# machine). Playwright drives it by path: `playwright install` would download a
# browser build of its own, which cannot be fetched here. Runs only when missing.
$(CHROMIUM):
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium

browser: $(CHROMIUM)

# pytest exits 5 when it collected nothing: that is a failure here, said plainly.
pytest: $(VENV)/.installed .venv-sam/.installed .venv-lambda/.installed $(CHROMIUM) $(WEB_DIST)
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The in-process suites on the other supported interpreters: tests/unit,
# tests/lambda_events, tests/auth and tests/store (both backends, moto's server on
# loopback), and tests/api on SQLite. The API's DynamoDB half would add about 35 s per
# interpreter and nothing interpreter-specific: tests/store drives the same DynamoDB
# backend. About 40 s per interpreter on 2 cores.
COMPAT_SUITES := tests/unit tests/lambda_events tests/auth tests/store
compat: .venv-py311/.installed .venv-py312/.installed
	@for v in .venv-py311 .venv-py312; do \
	  echo "== $$v"; \
	  $$v/bin/python -m pytest -q -p no:cacheprovider $(COMPAT_SUITES) || exit 1; \
	  $$v/bin/python -m pytest -q -p no:cacheprovider tests/api -k "not dynamodb" || exit 1; \
	done

# Mutation testing (issue 11), not part of `make test`: mutmut 3 over src/app/auth, store,
# http, ratelimit and orders, judged by the in-process suites (pyproject.toml
# [tool.mutmut] has the scope and the test selection). The whole campaign is about 4,100
# mutants, roughly 2-3 s each on 2 cores after a first full run of the suites (~1 min);
# MUTANTS narrows a run to mutant-name globs, e.g. make mutate MUTANTS='app.http.etags*'.
# Results stay in mutants/ (git-ignored): a rerun continues where the last one stopped,
# and `.venv/bin/mutmut browse` or `.venv/bin/mutmut show <name>` shows a survivor.
MUTANTS ?=
MUTATE_CHILDREN ?= 2
mutate: $(VENV)/.installed
	$(VENV)/bin/mutmut run --max-children $(MUTATE_CHILDREN) $(foreach m,$(MUTANTS),'$(m)')
	@# Survivors (and timeouts) only: a narrowed run leaves the rest "not checked".
	$(VENV)/bin/mutmut results | grep -v ': not checked$$' || true

# The one-line mutants mutmut cannot reach (the twin in its own process, the template,
# the drift check), each judged by the tests named beside it in devtools/mutants.toml.
# About 10 minutes; not part of `make test`. ONLY='name ...' narrows it.
mutate-audit: $(VENV)/.installed .venv-sam/.installed .venv-lambda/.installed $(BENCH_BUILD)/$(MACHINE_ARCH)/.built
	$(PY) -m devtools.mutation_audit $(if $(ONLY),--only $(ONLY))

validate: .venv-sam/.installed
	$(SAM) validate --lint
	$(SAM) validate --lint --template ops/pipeline.yaml

# The workflows (schema and zizmor's security audit, offline) and the templates
# (checkov, offline: --skip-download); every finding fixed or skipped in place with a reason.
lint-infra: .venv-lint/.installed
	.venv-lint/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	.venv-lint/bin/zizmor --offline --quiet .github/workflows
	.venv-lint/bin/checkov --framework cloudformation --skip-download --compact --quiet \
	  -f template.yaml -f ops/pipeline.yaml

build: .venv-sam/.installed
	$(SAM) build

test: lint docs-build validate lint-infra web-check pytest compat bench-smoke

lock:
	uv pip compile --universal --python-version 3.11 --generate-hashes --no-header -q requirements/runtime.in -o requirements/runtime.txt
	uv pip compile --universal --python-version 3.11 --generate-hashes --no-header -q requirements/dev.in -o requirements/dev.txt
	uv pip compile --universal --python-version 3.13 --generate-hashes --no-header -q requirements/sam.in -o requirements/sam.txt
	uv pip compile --universal --python-version 3.13 --generate-hashes --no-header -q requirements/lint.in -o requirements/lint.txt
	uv pip compile --universal --python-version 3.13 --generate-hashes --no-header -q requirements/lambda-runtime.in -o requirements/lambda-runtime.txt

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

# sam build runs `make build-ApiFunction` and `make build-PreTrafficHook` (template.yaml,
# BuildMethod: makefile); the recipe:
include $(dir $(firstword $(MAKEFILE_LIST)))lambda-build.mk

# make bench, make bench-smoke (the regression guard that `make test` runs):
include $(dir $(firstword $(MAKEFILE_LIST)))bench/bench.mk

# make cloud, make cloud-token (the HTTP API twin, twin/):
include $(dir $(firstword $(MAKEFILE_LIST)))twin/twin.mk

# make smoke, make deploy (ops/):
include $(dir $(firstword $(MAKEFILE_LIST)))ops/ops.mk
