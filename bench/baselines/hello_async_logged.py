"""The bare FastAPI + Mangum hello (``hello_async``) writing one JSON line per
request to stdout, flushed, as an app with an access log does on Lambda. Context
for the warm ``/hello`` target: what one log line costs a handler that does
nothing else, in the same harness (stdout a pipe another process reads)."""

import json
import sys
import time

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello")
async def hello():
    return {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}


_mangum = Mangum(app, lifespan="off")


def handler(event, context):
    started = time.perf_counter()
    response = _mangum(event, context)
    line = {
        "request_id": event["requestContext"].get("requestId"),
        "method": event["requestContext"]["http"]["method"],
        "path": event["rawPath"],
        "status": response["statusCode"],
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    return response
