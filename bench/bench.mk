# The benchmark suite (issue 6), included by the Makefile.
#
#   make bench        live delivery (bench/live.py), then every figure against the baselines, one table, JSON under bench/results/
#   make bench-smoke  the regression guard (`make test` runs it): cold start and warm
#                     /hello only, fewer repetitions; fails when a guarded ratio is more
#                     than 25% worse than its target
#   make bench-lock   re-pin requirements/bench.txt (needs network)
#   make scaling      the scaling model on paper, from the published run (docs/scaling.md)
#
# The artifact is built by `sam build` exactly as for a deploy (lambda-build.mk), in
# a build directory of the suite's own (.aws-sam/bench/<arch>), and rebuilt only when
# what it is made of changes. The baselines and tools live in .venv-bench, installed
# from requirements/bench.txt and used by nothing else.

BENCH_PY := .venv-bench/bin/python
BENCH_BUILD := .aws-sam/bench
BENCH_INPUTS := $(shell find src/app -type f ! -path '*/__pycache__/*' ! -name '*.pyc' 2>/dev/null) \
	lambda-build.mk requirements/runtime.txt template.yaml

.PHONY: bench bench-smoke bench-lock bench-wrk scaling

.venv-bench/.installed: requirements/bench.txt
	$(call venv,.venv-bench,$(PY313),requirements/bench.txt)

# An outer make's flags (a jobserver) must not leak into the make that SAM runs. Only
# ApiFunction: the bench and the twin run the API; the pre-traffic hook's artifact is
# the same one (lambda-build.mk), built for a deploy.
$(BENCH_BUILD)/%/.built: $(BENCH_INPUTS) | .venv-sam/.installed
	rm -rf $(BENCH_BUILD)/$*
	mkdir -p $(BENCH_BUILD)/$*
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL LAMBDA_ARCHITECTURE=$* $(SAM) build ApiFunction --template template.yaml \
	  --parameter-overrides Architecture=$* --build-dir $(BENCH_BUILD)/$*/build \
	  --cache-dir $(BENCH_BUILD)/$*/cache > $(BENCH_BUILD)/$*/sam-build.log 2>&1 \
	  || { cat $(BENCH_BUILD)/$*/sam-build.log >&2; exit 1; }
	touch $@

# wrk drives the uvicorn figure; installed from Debian's packages when missing. If
# that fails, the suite says so and falls back to bench/loadgen.py.
bench-wrk:
	@command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get update -q \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; } \
	  || echo "bench: wrk could not be installed; the uvicorn figure uses bench/loadgen.py"

# The as-deployed figures need the Lambda runtime's packages (.venv-lambda: boto3 as
# the runtime supplies it) and the dev environment (moto's DynamoDB server, bench/dynamo.py).
BENCH_ENVS := .venv-bench/.installed $(VENV)/.installed .venv-lambda/.installed

# Live delivery first (bench/results/live.json): the run's publish step draws it.
bench: $(BENCH_ENVS) $(BENCH_BUILD)/x86_64/.built $(BENCH_BUILD)/arm64/.built bench-wrk
	$(PY) -m bench.live local
	$(BENCH_PY) -m bench.run

bench-smoke: $(BENCH_ENVS) $(BENCH_BUILD)/x86_64/.built
	$(BENCH_PY) -m bench.run --smoke

bench-lock:
	uv pip compile --universal --python-version 3.13 --generate-hashes --no-header -q requirements/bench.in -o requirements/bench.txt

# The scaling model (docs/scaling.md): what breaks first at 10x, 100x and 1000x today's
# traffic, from the published run's durations (bench/results/latest.json); instant.
scaling: $(VENV)/.installed
	$(PY) -m bench.scaling
