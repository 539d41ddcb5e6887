"""A FastAPI + Mangum DynamoDB app as templates write it: a ``boto3.resource``
table at module scope, sync ``def`` routes, ``get_item``, Mangum's defaults.

The as-deployed baseline of ``make bench``: the same item our store writes
(``PK=ORDER#<id>``, ``SK=ORDER``), read from the same local server. boto3 comes
from the runtime, as for this project; the endpoint from the SDK's standard
``AWS_ENDPOINT_URL_DYNAMODB``.
"""

import os

import boto3
from fastapi import FastAPI, HTTPException
from mangum import Mangum

app = FastAPI()
table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


@app.get("/hello")
def hello():
    return {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}


@app.get("/orders/{order_id}")
def get_order(order_id: str):
    item = table.get_item(Key={"PK": f"ORDER#{order_id}", "SK": "ORDER"}).get("Item")
    if item is None:
        raise HTTPException(status_code=404, detail="Order not found")
    return item


handler = Mangum(app)
