"""The floor: a handler that builds the response dict itself."""

import json


def handler(event, context):
    body = json.dumps({"message": "Hello, Cloud Explorer! Your Serverless code is running!"})
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}
