"""Powertools for AWS Lambda's HTTP API resolver: the same hello, no ASGI."""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver()


@app.get("/hello")
def hello():
    return {"message": "Hello, Cloud Explorer! Your Serverless code is running!"}


def handler(event, context):
    return app.resolve(event, context)
