"""A FastAPI + Mangum hello as a typical template writes it: a sync route, Mangum's defaults."""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello")
def hello():
    return {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}


handler = Mangum(app)
