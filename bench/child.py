"""One benchmark subject in a fresh, bare interpreter (stdlib only).

Run by bench/workspace.py (child) as ``python3.13 -I -S -B bench/child.py MODE CONFIG OUT``
with nothing but the subject's task directory on sys.path, as the Lambda
runtime has /var/task. Modes:

- ``cold``: import the handler, call it once, report the clock readings;
- ``warm``: run the setup events, then time each route's event over many
  invocations (after a warm-up), one ``handler(event, context)`` per sample;
- ``memory``: RSS after init, then at invocation 1,000 and 10,000 of a fixed
  mix of events, and the peak;
- ``snapstart``: init, SnapStart's before-snapshot and after-restore hooks, then
  the first invocation after them and warm ones of the same event.

Results go to the file OUT as JSON (the app logs to stdout).
"""

import time

# The first statement the interpreter runs: everything before it is interpreter
# start-up, which the parent measures from its side (time.perf_counter is
# CLOCK_MONOTONIC on Linux, one clock for every process).
T_START = time.perf_counter()

# ruff: noqa: E402 - the clock above is read before anything else is imported
import importlib
import json
import sys


class Context:
    """What the Lambda runtime passes as ``context``."""

    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    function_name = "ApiFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/ApiFunction"
    log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 9000


def proc_status() -> dict[str, int]:
    """VmRSS and VmHWM (peak) in bytes, from /proc/self/status."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(rest.split()[0]) * 1024
    return found


def load_handler(config):
    sys.path.insert(0, config["task_root"])
    if config.get("runtime_root"):  # the runtime's own packages (boto3) come last, as on Lambda
        sys.path.append(config["runtime_root"])
    module = importlib.import_module(config["module"])
    return getattr(module, config["handler"])


def call(handler, event, expect, context):
    result = handler(event, context)
    status = result.get("statusCode")
    if status != expect:
        raise SystemExit(f"{event['requestContext']['http']['method']} {event['rawPath']}: {status} {result}")
    return result


def set_path(event, path):
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path


def cold(config):
    event = config["event"]
    context = Context()
    t_import = time.perf_counter()
    handler = load_handler(config)
    t_ready = time.perf_counter()
    result = call(handler, event, 200, context)
    t_done = time.perf_counter()
    return {
        "start": T_START,
        "import": t_import,
        "ready": t_ready,
        "done": t_done,
        "modules": len(sys.modules),
        "result": result,
    }


def setup(handler, config, context):
    """Runs the setup events; returns the path of the last Location header seen."""
    location = None
    for step in config.get("setup", []):
        for _ in range(step.get("repeat", 1)):
            result = call(handler, step["event"], step["expect"], context)
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        location = headers.get("location", location)
    return location


def warm(config):
    context = Context()
    handler = load_handler(config)
    location = setup(handler, config, context)
    out = {}
    for route in config["routes"]:
        event, expect = route["event"], route["expect"]
        if route.get("path_from_location"):
            set_path(event, location)
        pristine = json.dumps(event, sort_keys=True)
        for _ in range(route["warmup"]):
            call(handler, event, expect, context)
        # A handler that changed its event would make every later sample lie.
        if json.dumps(event, sort_keys=True) != pristine:
            raise SystemExit(f"the handler modified the event of {route['name']}")
        samples = []
        clock = time.perf_counter_ns
        for _ in range(route["iterations"]):
            started = clock()
            result = handler(event, context)
            samples.append(clock() - started)
            if result["statusCode"] != expect:
                raise SystemExit(f"{route['name']}: {result['statusCode']} {result}")
        out[route["name"]] = [ns / 1000 for ns in samples]
    return out


def memory(config):
    context = Context()
    handler = load_handler(config)
    location = setup(handler, config, context)
    mix = config["mix"]
    for step in mix:
        if step.get("path_from_location"):
            set_path(step["event"], location)
    init = proc_status()
    readings = {}
    total = config["invocations"]
    checkpoints = set(config["checkpoints"])
    for n in range(1, total + 1):
        step = mix[n % len(mix)]
        call(handler, step["event"], step["expect"], context)
        if n in checkpoints:
            readings[n] = proc_status()["VmRSS"]
    end = proc_status()
    return {"init": init, "end": end, "rss_at": readings}


def snapstart(config):
    """SnapStart's restore path: init, the runtime's before-snapshot hooks, its
    after-restore hooks (as Lambda runs them around a snapshot), then the first
    invocation and warm ones of the same event."""
    context = Context()
    handler = load_handler(config)
    import snapshot_restore_py as hooks

    clock = time.perf_counter
    started = clock()
    for func, args, kwargs in hooks.get_before_snapshot():
        func(*args, **kwargs)
    snapshotted = clock()
    for func, args, kwargs in hooks.get_after_restore():
        func(*args, **kwargs)
    restored = clock()
    event, expect = config["event"], config["expect"]
    call(handler, event, expect, context)
    first = clock() - restored
    for _ in range(config["warmup"]):
        call(handler, event, expect, context)
    samples = []
    for _ in range(config["iterations"]):
        begun = clock()
        call(handler, event, expect, context)
        samples.append((clock() - begun) * 1e6)
    return {
        "hooks": len(hooks.get_before_snapshot()) + len(hooks.get_after_restore()),
        "before_snapshot_ms": (snapshotted - started) * 1000,
        "after_restore_ms": (restored - snapshotted) * 1000,
        "first_us": first * 1e6,
        "warm_us": samples,
    }


def main():
    mode, config_path, out_path = sys.argv[1:4]
    with open(config_path) as f:
        config = json.load(f)
    result = {"cold": cold, "warm": warm, "memory": memory, "snapstart": snapstart}[mode](config)
    with open(out_path, "w") as f:
        json.dump(result, f)


main()
