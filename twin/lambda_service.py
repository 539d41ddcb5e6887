"""The Lambda service, locally: workers running the artifact as Lambda runs it.

Each worker is one execution environment: a python3.13 process running the
official runtime interface client (``awslambdaric``) against its own local
implementation of the Lambda Runtime API
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), with the
environment variables Lambda sets
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
the code directory read-only and a writable ``/tmp`` of its own.

The pool gives one invocation at a time to a worker, reuses an idle worker
(warm), starts a new one (a cold start) only when every worker is busy, up to
a cap, and replaces a worker whose invocation passes the function's timeout.
Every invocation writes Lambda's ``REPORT`` line
(https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html).
"""

from __future__ import annotations

import json
import logging
import math
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from twin.stack import ACCOUNT, REGION, Function

log = logging.getLogger("twin.lambda")

RUNTIME_API_VERSION = "2018-06-01"


@dataclass
class Invocation:
    request_id: str
    event: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes | None = None
    error: dict[str, Any] | None = None
    started: float = 0.0
    ended: float = 0.0


class InvocationFailed(Exception):
    """The function did not answer: ``kind`` is ``error``, ``timeout`` or ``init``;
    ``message`` is the function's errorMessage (a REQUEST authorizer's "Unauthorized")."""

    def __init__(self, kind: str, detail: str, message: str = "") -> None:
        super().__init__(detail)
        self.kind = kind
        self.message = message


class _RuntimeApi(BaseHTTPRequestHandler):
    # awslambdaric needs HTTP/1.1: against an HTTP/1.0 server its
    # runtime_client.next() crashes (seen with awslambdaric 4.2.2).
    protocol_version = "HTTP/1.1"
    # The answer to `next` goes out as two writes (headers, then the event): with
    # Nagle's algorithm the second waits for the runtime's delayed ACK of the first,
    # about 40 ms on a kept-alive connection, which every warm Duration would include.
    disable_nagle_algorithm = True
    server: _RuntimeServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        worker = self.server.worker
        if self.path != f"/{RUNTIME_API_VERSION}/runtime/invocation/next":
            self._answer(404)
            return
        worker.ready()
        invocation = worker.inbox.get()
        invocation.started = time.perf_counter()
        worker.current = invocation
        self._answer(
            200,
            invocation.event,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": worker.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            },
        )

    def do_POST(self) -> None:
        worker = self.server.worker
        body = self._body()
        prefix = f"/{RUNTIME_API_VERSION}/runtime/"
        if self.path == prefix + "init/error":
            worker.init_error = _error_payload(body)
            self._answer(202, b'{"status":"OK"}')
            return
        invocation = worker.current
        if invocation is None or not self.path.startswith(f"{prefix}invocation/{invocation.request_id}/"):
            self._answer(400, b'{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}')
            return
        if self.path.endswith("/response"):
            invocation.result = body
        elif self.path.endswith("/error"):
            invocation.error = _error_payload(body)
        else:
            self._answer(404)
            return
        invocation.ended = time.perf_counter()
        worker.current = None
        self._answer(202, b'{"status":"OK"}')
        invocation.done.set()


def exit_reason(returncode: int) -> str:
    """As Lambda words a runtime's exit: "signal: killed", "exit status 1"."""
    if returncode < 0:
        return f"signal: {(signal.strsignal(-returncode) or str(-returncode)).lower()}"
    return f"exit status {returncode}"


def _error_payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        payload = {"errorMessage": body.decode("utf-8", "replace")}
    return payload if isinstance(payload, dict) else {"errorMessage": str(payload)}


class _RuntimeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, worker: Worker) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeApi)
        self.worker = worker


class Worker:
    """One execution environment: a runtime process and its Runtime API."""

    def __init__(self, function: Function, service: LambdaService, number: int) -> None:
        self.function = function
        self.service = service
        self.number = number
        self.function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}"
        self.inbox: queue.Queue[Invocation] = queue.Queue()
        self.current: Invocation | None = None
        self.init_error: dict[str, Any] | None = None
        self._ready = threading.Event()
        self.cold = True
        self.init_ms = 0.0
        self.server = _RuntimeServer(self)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"twin-{function.logical_id}-{number}-"))
        self.started = time.perf_counter()
        self.process = self._spawn()

    def _environment(self) -> dict[str, str]:
        task_root = str(self.service.code_dir)
        host, port = self.server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        env = {
            # https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
            "_HANDLER": self.function.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.function.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": self.function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_RUNTIME_API": f"{host}:{port}",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": str(self.service.runtime_dir),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PATH": f"{Path(self.service.python).parent}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": task_root,
            "TMPDIR": str(self.tmp),
            "HOME": str(self.tmp),
            # The execution role's short-lived credentials: stand-ins, for the local server.
            "AWS_ACCESS_KEY_ID": "ASIATWINTWINTWINTWIN",
            "AWS_SECRET_ACCESS_KEY": "twin-secret-access-key",
            "AWS_SESSION_TOKEN": "twin-session-token",
        }
        env.update(self.function.environment)
        env.update(self.service.overrides)
        return env

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [self.service.python, "-m", "awslambdaric", self.function.handler]
        code = str(self.service.code_dir)
        if self.service.read_only_code:
            # A private mount namespace with the code directory bound read-only, as
            # /var/task is on Lambda (root ignores file modes, a read-only mount it cannot).
            script = f'mount --bind "{code}" "{code}" && mount -o remount,bind,ro "{code}" && exec "$@"'
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command]
        return subprocess.Popen(  # noqa: S603 - the runtime interpreter and a fixed module
            command,
            cwd=code,
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=self.service.log_sink,
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> None:
        if not self._ready.is_set():
            self.init_ms = (time.perf_counter() - self.started) * 1000
            self._ready.set()

    def wait_ready(self, timeout: float) -> None:
        """Wait for the runtime's first `next` (init done), its init error, or its death."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.01):
            if self.init_error is not None or self.process.poll() is not None:
                detail = (self.init_error or {}).get("errorMessage", "the runtime exited during init")
                raise InvocationFailed("init", str(detail))
            if time.monotonic() > deadline:
                raise InvocationFailed("init", f"init did not finish in {timeout:.0f} s")

    def invoke(self, event: bytes, timeout_s: float) -> Invocation:
        invocation = Invocation(
            request_id=str(uuid.uuid4()), event=event, deadline_ms=int((time.time() + timeout_s) * 1000)
        )
        self.inbox.put(invocation)
        deadline = time.monotonic() + timeout_s
        while not invocation.done.wait(0.05):
            if self.process.poll() is not None:
                # The runtime died mid-invocation (killed, out of memory): Lambda fails
                # the invocation at once with Runtime.ExitError, not at the timeout.
                invocation.error = {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {invocation.request_id} Error: Runtime exited with error: "
                    + exit_reason(self.process.returncode),
                }
                invocation.ended = time.perf_counter()
                invocation.done.set()
            elif time.monotonic() >= deadline:
                break
        if not invocation.done.is_set():
            invocation.ended = time.perf_counter()
        return invocation

    def memory_used_mb(self) -> int:
        """The peak resident memory of the runtime process (VmHWM), as Lambda reports it."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return math.ceil(int(line.split()[1]) / 1024)
        except OSError:
            pass
        return 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class LambdaService:
    """Workers for one function: warm reuse, cold starts on demand, a concurrency cap."""

    def __init__(
        self,
        function: Function,
        *,
        code_dir: Path,
        python: str,
        runtime_dir: Path,
        overrides: dict[str, str],
        max_workers: int = 4,
        log_sink: Any = None,
        read_only_code: bool = True,
    ) -> None:
        self.function = function
        self.code_dir = code_dir
        self.python = python
        self.runtime_dir = runtime_dir
        self.overrides = overrides
        self.max_workers = max_workers
        self.log_sink = log_sink if log_sink is not None else sys.stdout
        self.read_only_code = read_only_code
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        self._lock = threading.Condition()
        self._count = 0
        self.reports: list[dict[str, Any]] = []

    def _take(self, wait_s: float) -> Worker | None:
        """An idle worker (warm), a new one if all are busy and the cap allows, else wait."""
        deadline = time.monotonic() + wait_s
        with self._lock:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._all.remove(worker)
                if len(self._all) < self.max_workers:
                    self._count += 1
                    worker = Worker(self.function, self, self._count)
                    self._all.append(worker)
                    return worker
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                # The cap is this laptop's, not AWS's: over it, a request waits for a worker.
                self._lock.wait(remaining)

    def _give_back(self, worker: Worker, healthy: bool) -> None:
        with self._lock:
            if healthy and worker.alive():
                self._idle.append(worker)
            else:
                if worker in self._all:
                    self._all.remove(worker)
                threading.Thread(target=worker.stop, daemon=True).start()
            self._lock.notify()

    def invoke(self, event: dict[str, Any], *, wait_s: float = 30.0) -> dict[str, Any] | Any:
        """The function's answer (parsed JSON), or InvocationFailed."""
        worker = self._take(wait_s)
        if worker is None:
            raise InvocationFailed("throttled", "every worker stayed busy")
        cold = worker.cold
        healthy = False
        try:
            if cold:
                # Lambda's init phase is bounded (10 s for on-demand functions).
                worker.wait_ready(timeout=10.0)
            invocation = worker.invoke(json.dumps(event).encode(), self.function.timeout_s)
            timed_out = not invocation.done.is_set()
            self._report(worker, invocation, cold, timed_out)
            worker.cold = False
            if timed_out:
                raise InvocationFailed(
                    "timeout", f"Task timed out after {self.function.timeout_s:.2f} seconds"
                )
            if invocation.error is not None:
                healthy = worker.alive()
                error = invocation.error
                raise InvocationFailed(
                    "error", str(error.get("errorType", "Error")), str(error.get("errorMessage", ""))
                )
            healthy = True
            return json.loads(invocation.result or b"null")
        finally:
            self._give_back(worker, healthy)

    def _report(self, worker: Worker, invocation: Invocation, cold: bool, timed_out: bool) -> None:
        duration = (invocation.ended - invocation.started) * 1000 if invocation.started else 0.0
        if timed_out:
            # Lambda reports a timed-out invocation at its full timeout.
            duration = self.function.timeout_s * 1000.0
        report: dict[str, Any] = {
            "request_id": invocation.request_id,
            "duration_ms": round(duration, 2),
            "billed_ms": max(1, math.ceil(duration)),
            "memory_mb": self.function.memory_mb,
            "max_memory_mb": worker.memory_used_mb(),
            "init_ms": round(worker.init_ms, 2) if cold else None,
            "status": "timeout" if timed_out else ("error" if invocation.error else "ok"),
            "worker": worker.number,
        }
        self.reports.append(report)
        line = (
            f"REPORT RequestId: {report['request_id']}\tDuration: {report['duration_ms']:.2f} ms\t"
            f"Billed Duration: {report['billed_ms']} ms\tMemory Size: {report['memory_mb']} MB\t"
            f"Max Memory Used: {report['max_memory_mb']} MB"
        )
        if cold:
            line += f"\tInit Duration: {report['init_ms']:.2f} ms"
        if timed_out:
            line += "\tStatus: timeout"
        elif invocation.error:
            line += "\tStatus: error"
        log.info(line)

    def stop(self) -> None:
        with self._lock:
            workers, self._all, self._idle = list(self._all), [], []
        for worker in workers:
            worker.stop()


def runtime_python(venv: Path) -> str:
    python = venv / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run `make .venv-lambda/.installed` (make cloud does)")
    return str(python)
