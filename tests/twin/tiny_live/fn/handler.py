"""The tiny live stack's function, one handler per role; each input shows one thing the
twin's WebSocket API or stream mapping must do."""

import json
import os

import boto3


def _table():  # type: ignore[no-untyped-def]
    client = boto3.client("dynamodb", endpoint_url=os.environ.get("APP_DYNAMODB_ENDPOINT_URL"))
    return client, os.environ["TINY_TABLE"]


def http(event, context):  # type: ignore[no-untyped-def]
    """PUT /notes/{id} {"to": connection id, "text": ...}: the item the stream carries."""
    note = json.loads(event.get("body") or "{}")
    client, table = _table()
    item = {"PK": {"S": "NOTE#" + event["rawPath"].rsplit("/", 1)[-1]}, "text": {"S": note["text"]}}
    if note.get("to"):
        item["to"] = {"S": note["to"]}
    client.put_item(TableName=table, Item=item)
    return {"statusCode": 204}


def authorize(event, context):  # type: ignore[no-untyped-def]
    token = (event.get("queryStringParameters") or {}).get("token", "")
    if token == "boom":
        raise RuntimeError("the authorizer broke")
    if not (token.startswith("good-") or token == "deny"):
        raise Exception("Unauthorized")  # API Gateway's contract: this message is its 401
    effect = "Deny" if token == "deny" else "Allow"
    return {
        "principalId": token.removeprefix("good-"),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
        },
        "context": {"sub": token.removeprefix("good-"), "seen": event},
    }


def socket(event, context):  # type: ignore[no-untyped-def]
    request = event["requestContext"]
    client, table = _table()
    key = {"PK": {"S": "CONN#" + request["connectionId"]}}
    if request["routeKey"] == "$connect":
        if (event.get("queryStringParameters") or {}).get("refuse"):
            return {"statusCode": 403}
        client.put_item(TableName=table, Item={**key, "event": {"S": json.dumps(event)}})
    elif request["routeKey"] == "$disconnect":
        # Added beside $connect's event, not over it: a test may still read that.
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET gone = :event",
            ExpressionAttributeValues={":event": {"S": json.dumps(event)}},
        )
    elif request["routeKey"] == "echo":
        return {"statusCode": 200, "body": json.dumps({"event": event, "size": len(event["body"])})}
    return {"statusCode": 200, "body": "not sent: this route has no route response"}


def consume(event, context):  # type: ignore[no-untyped-def]
    """Each note to its connection, in order; "poison" fails its record (reported),
    "boom" the whole invocation."""
    api = boto3.client("apigatewaymanagementapi")
    client, table = _table()
    for record in event["Records"]:
        image = record["dynamodb"]["NewImage"]
        text = image["text"]["S"]
        if text == "boom":
            raise RuntimeError("boom")
        if text == "poison":
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        try:
            api.post_to_connection(ConnectionId=image["to"]["S"], Data=json.dumps(record).encode())
        except api.exceptions.GoneException:
            client.put_item(TableName=table, Item={"PK": {"S": "GONE#" + image["to"]["S"]}})
    return {"batchItemFailures": []}
