# How `sam build` builds ApiFunction, PreTrafficHook and the Live* functions (template.yaml: BuildMethod: makefile).
#
# SAM runs `make --makefile <repo>/Makefile build-ApiFunction` with ARTIFACTS_DIR
# set to the function's build directory; the Makefile includes this file. What
# lands in ARTIFACTS_DIR is exactly what is zipped and deployed (/var/task):
#   - the runtime dependencies from requirements/runtime.txt (hashed pins), as
#     wheels for the Lambda platform (never built from source, never boto3:
#     the runtime provides it);
#   - the app package from src/app, without this machine's __pycache__;
#   - bytecode for every module in it (see below).
#
# The architecture: SAM passes the function's architecture to its builders but
# not to make (aws-sam-cli issue #3349), so the recipe reads LAMBDA_ARCHITECTURE
# (arm64 by default, like the template's Architecture parameter). Build x86_64 as
#   LAMBDA_ARCHITECTURE=x86_64 sam build --parameter-overrides Architecture=x86_64
#
# Paths are taken from this file's location, so the recipe works from any
# working directory (SAM's scratch copy or the repository root).
#
# Bytecode: /var/task is read-only, so without .pyc files every cold start
# compiles every module it imports, again and again: more than half of this
# app's cold start, and of a plain FastAPI + Mangum one (`make bench`). It also
# adds about 3.4 MB to the zip, in return. The recipe compiles the whole
# artifact with python3.13, the runtime's own version (bytecode is specific to
# the Python version, not to the architecture, so an x86_64 python3.13 compiles
# for arm64 too). `--invalidation-mode unchecked-hash`: sam package/deploy zips
# every file with the date 1980-01-01, so timestamp-checked .pyc files would all
# be stale on Lambda; unchecked-hash ones are used as they are, never checked
# against the source (PEP 552), which is right for a tree nothing rewrites.

LAMBDA_ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
LAMBDA_ARCHITECTURE ?= arm64
# The interpreter that runs pip; it only downloads and unpacks wheels for the
# target, so any python3.13 will do (the Makefile finds one as PY313).
LAMBDA_PYTHON ?= $(or $(PY313),python3.13)
LAMBDA_REQUIREMENTS ?= $(LAMBDA_ROOT)/requirements/runtime.txt
LAMBDA_SOURCE ?= $(LAMBDA_ROOT)/src/app

# Console scripts (bin/) carry this machine's interpreter path and Lambda never
# runs them, so the recipe drops them.
#
# Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): any manylinux wheel
# up to 2_34 runs there. pip takes the first listed platform as the most preferred.
LAMBDA_PLATFORMS_arm64 := manylinux_2_34_aarch64 manylinux_2_28_aarch64 manylinux_2_17_aarch64 manylinux2014_aarch64
LAMBDA_PLATFORMS_x86_64 := manylinux_2_34_x86_64 manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64

.PHONY: build-ApiFunction
build-ApiFunction:
	@case "$(LAMBDA_ARCHITECTURE)" in arm64|x86_64) ;; \
	  *) echo "error: LAMBDA_ARCHITECTURE must be arm64 or x86_64, not '$(LAMBDA_ARCHITECTURE)'" >&2; exit 1;; esac
	@case "$(ARTIFACTS_DIR)" in /?*/?*) ;; \
	  *) echo "error: ARTIFACTS_DIR must be an absolute build directory (sam build sets it), not '$(ARTIFACTS_DIR)'" >&2; exit 1;; esac
	@case "$(LAMBDA_ROOT)/" in "$(ARTIFACTS_DIR)"/*) \
	  echo "error: ARTIFACTS_DIR '$(ARTIFACTS_DIR)' contains the project itself" >&2; exit 1;; esac
	@$(LAMBDA_PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || { \
	  echo "error: LAMBDA_PYTHON '$(LAMBDA_PYTHON)' is not python3.13 (the runtime's bytecode version)" >&2; exit 1; }
	@echo "build-ApiFunction: python3.13 $(LAMBDA_ARCHITECTURE) -> $(ARTIFACTS_DIR)"
	mkdir -p "$(ARTIFACTS_DIR)"
	find "$(ARTIFACTS_DIR)" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
	$(LAMBDA_PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile \
	  --require-hashes --only-binary=:all: \
	  --implementation cp --python-version 3.13 --abi cp313 \
	  $(foreach platform,$(LAMBDA_PLATFORMS_$(LAMBDA_ARCHITECTURE)),--platform $(platform)) \
	  --target "$(ARTIFACTS_DIR)" -r "$(LAMBDA_REQUIREMENTS)"
	rm -rf "$(ARTIFACTS_DIR)/bin"
	cp -R "$(LAMBDA_SOURCE)" "$(ARTIFACTS_DIR)/app"
	find "$(ARTIFACTS_DIR)/app" -depth \( -name __pycache__ -o -name '*.pyc' \) -exec rm -rf {} +
	$(LAMBDA_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"

# CodeDeploy's pre-traffic hook (template.yaml, PreTrafficHook) ships the very same
# artifact, with another handler (app.aws_lambda.pretraffic.handler): the same recipe,
# so the hook ships with the code it checks (SAM builds each makefile function on its
# own, so the recipe runs twice, about 12 s each here).
.PHONY: build-PreTrafficHook
build-PreTrafficHook: build-ApiFunction

# Live orders (issue 24): the WebSocket authorizer, the socket routes and the stream
# consumer ship the same artifact too, each with its own handler
# (app.aws_lambda.live_*.handler), which imports no FastAPI.
.PHONY: build-LiveAuthorizerFunction build-LiveSocketFunction build-LiveStreamFunction
build-LiveAuthorizerFunction build-LiveSocketFunction build-LiveStreamFunction: build-ApiFunction
