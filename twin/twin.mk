# Included by the Makefile after bench/bench.mk (it reuses the benchmark's build).
#
# The stack as deployed (twin/): the artifact that `sam build` makes for this machine's
# architecture (the benchmark's build, rebuilt only when its inputs change), run as
# Lambda runs it, behind the HTTP API twin, on a local DynamoDB-compatible server.
MACHINE_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
CLOUD_PORT ?= 3000
# The web app (web/dist) as its CloudFront distribution serves it; 0 turns it off.
CLOUD_WEB_PORT ?= 3001
# The WebSocket API (the template's WebSocketApi); 0 turns it off.
CLOUD_WS_PORT ?= 3002
CLOUD_ARTIFACT := $(BENCH_BUILD)/$(MACHINE_ARCH)/build/ApiFunction
cloud: $(VENV)/.installed .venv-sam/.installed .venv-lambda/.installed $(BENCH_BUILD)/$(MACHINE_ARCH)/.built $(WEB_DIST)
	$(PY) -m twin serve --port $(CLOUD_PORT) --web-port $(CLOUD_WEB_PORT) --ws-port $(CLOUD_WS_PORT) --artifact $(CLOUD_ARTIFACT)

SUB ?= alice
SCOPE ?= orders:read orders:write
# GROUP=staff or GROUP=chef: the role, in cognito:groups, as the stack's user pool issues it.
GROUP ?=
cloud-token: $(VENV)/.installed
	@$(PY) -m twin token --sub "$(SUB)" --scope "$(SCOPE)" $(if $(GROUP),--group "$(GROUP)")



# This project against a typical FastAPI + Mangum DynamoDB app, both through the twin:
# Init Duration, first and warm Duration, Max Memory Used from the REPORT lines
# (bench/twin_report.py; bench/results/twin.json and twin.md). COLD=5 WARM=50 by default.
.PHONY: bench-twin
COLD ?= 5
WARM ?= 50
bench-twin: $(VENV)/.installed .venv-sam/.installed .venv-lambda/.installed $(BENCH_BUILD)/$(MACHINE_ARCH)/.built
	$(PY) -m bench.twin_report --artifact $(CLOUD_ARTIFACT) --cold $(COLD) --warm $(WARM)

# Live orders through the twin: from a change's HTTP response to its message on a staff
# WebSocket, the stream polled as Lambda polls it (bench/live_twin.py; target p95 <= 350 ms).
.PHONY: bench-live-twin
bench-live-twin: $(VENV)/.installed .venv-sam/.installed .venv-lambda/.installed $(BENCH_BUILD)/$(MACHINE_ARCH)/.built
	$(PY) -m bench.live twin
