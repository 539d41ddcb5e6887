"""The same FastAPI + Mangum hello with an ``async def`` route (no thread pool hand-off)."""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello")
async def hello():
    return {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}


handler = Mangum(app)
