"""The bare FastAPI + Mangum hello: an ``async def`` route (no thread pool hand-off) and
the lifespan off, so, like this project, nothing is started again on every invocation
(Mangum's default runs the lifespan per invocation). The guarded warm baseline."""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello")
async def hello():
    return {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}


handler = Mangum(app, lifespan="off")
