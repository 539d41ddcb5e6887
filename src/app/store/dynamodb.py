"""The DynamoDB backend's operations: one table, every write conditional.

The key design and the item <-> record mapping are :mod:`app.store.dynamodb_keys`;
this class sends the requests, each :class:`~app.store.base.Store` primitive over
those items (the shape of Powertools' idempotency persistence layers).

Reads of the base table are strongly consistent, so a write is visible to the next
read, as in SQLite. A GSI cannot be read consistently: ``list_orders`` may miss an
order placed a moment ago (typically well under a second) -- the AWS guide on GSI
read consistency, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Reading

Every boto3/botocore failure is translated at this module's boundary, by
:func:`app.store.dynamodb_errors.translate` (503 when worth a retry).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from app.store import dynamodb_keys as keys
from app.store.base import (
    OPEN_STATUSES,
    AlreadyExists,
    IdempotencyClaim,
    IdempotencyCompletion,
    MenuItem,
    Order,
    OrderPage,
    StoreUnavailable,
    VersionConflict,
    WriteOutcomeUnknown,
)
from app.store.dynamodb_errors import error_code, error_field, raise_order_cancelled, translate

# The table's definition, imported from here by the template's test and the tools too.
from app.store.dynamodb_keys import (
    ATTRIBUTE_DEFINITIONS,
    BILLING_MODE,
    GLOBAL_SECONDARY_INDEXES,
    GSI1,
    KEY_SCHEMA,
    TTL_ATTRIBUTE,
    n,
    s,
)
from app.store.sdk import READ_TIMEOUT_S, new_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        PutTypeDef,
        QueryInputTypeDef,
        UpdateTypeDef,
    )

    from app.store.dynamodb_keys import Item

log = logging.getLogger(__name__)


def request_token(order: Order) -> str:
    """The transaction's ClientRequestToken: the same for every attempt at this write,
    never for another (1-36 characters; within 10 minutes DynamoDB answers a repeat
    as a success without applying it again, and one with other parameters with
    IdempotentParameterMismatch). Order ids are unique, a version is one write of it.
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html"""
    return f"{order.id}-v{order.version}"


def _completion_update(table_name: str, completion: IdempotencyCompletion) -> UpdateTypeDef:
    return {
        "TableName": table_name,
        "Key": keys.idem_key(completion.key),
        "UpdateExpression": (
            "SET #status = :completed, response_status = :rs, "
            "response_body = :rb, #expires = :exp REMOVE lock_until"
        ),
        "ConditionExpression": "#status = :in_progress AND #owner = :owner",
        "ExpressionAttributeNames": {"#status": "status", "#owner": "owner", "#expires": TTL_ATTRIBUTE},
        "ExpressionAttributeValues": {
            ":completed": s("completed"),
            ":in_progress": s("in_progress"),
            ":owner": s(completion.owner),
            ":rs": n(completion.response.status),
            ":rb": s(completion.response.body),
            ":exp": n(completion.expires_at),
        },
    }


# A write that failed is read back only if its attempts took less than one read timeout.
_REREAD_WITHIN_S: Final = READ_TIMEOUT_S
_BATCH_GET_MAX: Final = 100  # BatchGetItem's limit per request
_BATCH_GET_ROUNDS: Final = 5


class DynamoStore:
    def __init__(
        self,
        table_name: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.table_name = table_name
        self._owns_client = client is None
        if client is None:
            try:
                # Tests and tools; the app passes the container's one client (app.store.sdk).
                client = new_client(endpoint_url, region)
            except BotoCoreError as error:  # e.g. NoRegionError: say so at start, clearly
                raise StoreUnavailable(f"cannot create the DynamoDB client: {error}") from error
        self._client: DynamoDBClient = client

    @contextmanager
    def _boundary(self) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as error:
            raise translate(error, self.table_name) from error

    # -- table -----------------------------------------------------------

    def ensure_table(self) -> None:
        """Create the table if it is missing, wait until it is ACTIVE, enable TTL.

        For local DynamoDB-compatible servers only: in the cloud the template owns
        the table and the function has no permission to create one.
        """
        with self._boundary():
            try:
                self._client.describe_table(TableName=self.table_name)
            except ClientError as error:
                if error_code(error) != "ResourceNotFoundException":
                    raise
                try:
                    self._client.create_table(
                        TableName=self.table_name,
                        KeySchema=KEY_SCHEMA,
                        AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
                        GlobalSecondaryIndexes=GLOBAL_SECONDARY_INDEXES,
                        BillingMode=BILLING_MODE,
                    )
                except ClientError as create_error:
                    if error_code(create_error) != "ResourceInUseException":  # another process won
                        raise
            self._client.get_waiter("table_exists").wait(
                TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
        try:
            current = self._client.describe_time_to_live(TableName=self.table_name)
            status = current.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
            if status not in ("ENABLED", "ENABLING"):
                self._client.update_time_to_live(
                    TableName=self.table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
                )
        except (ClientError, BotoCoreError) as error:
            # Some compatible servers lack the TTL API. Nothing breaks without it:
            # every read compares expires_at with now; old records just stay.
            log.warning("DynamoDB TTL not enabled on %s: %s", self.table_name, error)

    # -- menu ------------------------------------------------------------

    def list_menu(self) -> list[MenuItem]:
        query: QueryInputTypeDef = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": s(keys.MENU_PK), ":prefix": s(keys.ITEM_PREFIX)},
            "ConsistentRead": True,
        }
        items: list[MenuItem] = []
        with self._boundary():
            while True:  # a Query page stops at 1 MB
                page = self._client.query(**query)
                items.extend(keys.menu_from_item(item) for item in page["Items"])
                if "LastEvaluatedKey" not in page:
                    return items
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_menu_item(self, item_id: str) -> MenuItem | None:
        with self._boundary():
            found = self._client.get_item(
                TableName=self.table_name, Key=keys.menu_key(item_id), ConsistentRead=True
            )
        return keys.menu_from_item(found["Item"]) if "Item" in found else None

    def get_menu_items(self, item_ids: list[str]) -> dict[str, MenuItem]:
        """BatchGetItem of exactly the ids asked for (an order has at most 50
        distinct items), rather than reading the whole menu partition: the cost
        follows the order, not the size of the menu. Unprocessed keys (throttled
        parts of a batch) are retried a few times with backoff, then 503."""
        items = self._batch_get([keys.menu_key(item_id) for item_id in sorted(set(item_ids))], "menu")
        return {menu_item.id: menu_item for menu_item in map(keys.menu_from_item, items)}

    def _batch_get(self, all_keys: list[Item], what: str) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        for start in range(0, len(all_keys), _BATCH_GET_MAX):
            keys = all_keys[start : start + _BATCH_GET_MAX]
            for attempt in range(_BATCH_GET_ROUNDS):
                with self._boundary():
                    result = self._client.batch_get_item(
                        RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}}
                    )
                found.extend(result.get("Responses", {}).get(self.table_name, []))
                unprocessed = result.get("UnprocessedKeys", {}).get(self.table_name)
                keys = list(unprocessed["Keys"]) if unprocessed else []
                if not keys:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise StoreUnavailable(f"DynamoDB left {what} reads unprocessed (throttled)", retry_after=1)
        return found

    def put_menu_item(self, item: MenuItem) -> bool:
        with self._boundary():
            result = self._client.put_item(
                TableName=self.table_name,
                Item=keys.menu_to_item(item),
                ReturnValues="ALL_OLD",
            )
        return not result.get("Attributes")

    def delete_menu_item(self, item_id: str) -> bool:
        with self._boundary():
            result = self._client.delete_item(
                TableName=self.table_name, Key=keys.menu_key(item_id), ReturnValues="ALL_OLD"
            )
        return bool(result.get("Attributes"))

    # -- orders ----------------------------------------------------------

    def create_order(self, order: Order, completion: IdempotencyCompletion | None = None) -> None:
        new_order: PutTypeDef = {
            "TableName": self.table_name,
            "Item": keys.order_to_item(order),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        # A new order is open: its kitchen marker comes with it, in the same transaction.
        marker: PutTypeDef = {"TableName": self.table_name, "Item": keys.kitchen_marker(order.id)}
        token = request_token(order)
        started = time.monotonic()
        try:
            with self._boundary():
                try:
                    if completion is None:
                        self._client.transact_write_items(
                            TransactItems=[{"Put": new_order}, {"Put": marker}], ClientRequestToken=token
                        )
                    else:
                        # The order exists iff its idempotency record says "completed" with
                        # the response to replay, and only while this request still owns
                        # the key (it may have been taken over after lock_until).
                        completed = _completion_update(self.table_name, completion)
                        self._client.transact_write_items(
                            TransactItems=[{"Put": new_order}, {"Update": completed}, {"Put": marker}],
                            ClientRequestToken=token,
                        )
                except ClientError as error:
                    if error_code(error) != "TransactionCanceledException":
                        raise
                    raise_order_cancelled(error, order.id, owner=completion.owner if completion else None)
        except (AlreadyExists, StoreUnavailable) as error:
            # Ambiguous: an attempt whose answer was lost (a timeout, a 500) may have
            # been applied. DynamoDB answers the SDK's retry of it as a success (same
            # token); a server without token support cancels it on the order's own
            # condition (AlreadyExists); after the last retry it is unknown. The order
            # id is this request's own, so the order stored with our content means our
            # transaction was applied, idempotency record included (one transaction).
            # After attempts that timed out, the outcome stays unknown (503): a read then
            # could outlast the function's timeout.
            answered = isinstance(error, AlreadyExists) or time.monotonic() - started < _REREAD_WITHIN_S
            if answered and self._stored_as(order):
                log.warning("order %s: the write's answer was lost but it was applied (%s)", order.id, error)
                return
            if isinstance(error, StoreUnavailable):
                raise WriteOutcomeUnknown(f"order {order.id}: {error}", error.retry_after) from error
            raise

    def _stored_as(self, order: Order) -> bool:
        """Whether ``order`` is stored as written (status and version may have moved on)."""
        try:
            found = self.get_order(order.id)
        except StoreUnavailable:
            return False
        return found is not None and order == replace(
            found, status=order.status, updated_at=order.updated_at, version=order.version
        )

    def get_order(self, order_id: str) -> Order | None:
        with self._boundary():
            found = self._client.get_item(
                TableName=self.table_name, Key=keys.order_key(order_id), ConsistentRead=True
            )
        return keys.order_from_item(found["Item"]) if "Item" in found else None

    def list_orders(self, customer: str, *, limit: int, after: str | None) -> OrderPage:
        """Asks for one order more than the page holds, so ``next_after`` is set
        only when another order really follows. (DynamoDB returns a
        LastEvaluatedKey whenever ``Limit`` is reached, even at the very end;
        trusting it would hand out a cursor to an empty page.)"""
        if limit < 1 or after == "":  # "" sorts before every id: nothing comes after it
            return OrderPage()
        query: QueryInputTypeDef = {
            "TableName": self.table_name,
            "IndexName": GSI1,
            "KeyConditionExpression": "GSI1PK = :customer",
            "ExpressionAttributeValues": {":customer": keys.customer_partition(customer)},
            "ScanIndexForward": False,
        }
        if after is not None:
            query["ExclusiveStartKey"] = keys.customer_orders_start_key(customer, after)
        items: list[Mapping[str, Any]] = []
        with self._boundary():
            while len(items) <= limit:
                query["Limit"] = limit + 1 - len(items)
                page = self._client.query(**query)
                items.extend(page["Items"])
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        orders = [keys.order_from_item(item) for item in items[:limit]]
        more = len(items) > limit
        return OrderPage(items=orders, next_after=orders[-1].id if more else None)

    def list_open_orders(self, *, limit: int) -> list[Order]:
        query: QueryInputTypeDef = {
            "TableName": self.table_name,
            "IndexName": GSI1,
            "KeyConditionExpression": "GSI1PK = :kitchen",
            "ExpressionAttributeValues": {":kitchen": s(keys.KITCHEN_PK)},
            "ScanIndexForward": True,
        }
        ids: list[str] = []
        with self._boundary():
            while len(ids) < limit:
                query["Limit"] = limit - len(ids)
                page = self._client.query(**query)
                ids.extend(keys.kitchen_marker_order_id(item) for item in page["Items"])
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        found = self._batch_get([keys.order_key(i) for i in ids], "orders")
        orders = [keys.order_from_item(item) for item in found]
        return sorted((o for o in orders if o.status in OPEN_STATUSES), key=lambda o: o.id)

    def update_order(self, order: Order, *, expected_version: int) -> None:
        with self._boundary():
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item=keys.order_to_item(order),
                    ConditionExpression="attribute_exists(PK) AND #version = :expected",
                    ExpressionAttributeNames={"#version": "version"},
                    ExpressionAttributeValues={":expected": n(expected_version)},
                )
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    raise VersionConflict(order.id) from None
                raise
            if order.status not in OPEN_STATUSES:
                # Off the kitchen's board (app.store.dynamodb_keys says why not in one transaction).
                self._client.delete_item(TableName=self.table_name, Key=keys.kitchen_marker_key(order.id))

    # -- idempotency -----------------------------------------------------

    def claim_idempotency(
        self, key: str, fingerprint: str, *, owner: str, now: int, lock_until: int, expires_at: int
    ) -> IdempotencyClaim:
        # Timeline of one key, requests A and B with the same body:
        #   A: PutItem in_progress/owner=A  -> no item, condition holds       -> "new"
        #   B: PutItem in_progress/owner=B  -> fails, old item is A's         -> "in_progress"
        #   A: create_order(completion)     -> order + record "completed", one transaction
        #   B retries: PutItem              -> fails, old item completed      -> "completed", replay
        # If A dies before completing, after lock_until a request with the same
        # body takes the key over; A's late create_order then fails its owner check.
        # One conditional write decides, so of many concurrent claims one wins.
        for _ in range(3):
            with self._boundary():
                try:
                    self._client.put_item(
                        TableName=self.table_name,
                        Item=keys.idempotency_claim_item(
                            key, fingerprint, owner=owner, lock_until=lock_until, expires_at=expires_at
                        ),
                        ConditionExpression=(
                            "attribute_not_exists(PK) OR #expires <= :now OR "
                            "(#status = :in_progress AND lock_until <= :now AND fingerprint = :fp)"
                        ),
                        ExpressionAttributeNames={"#status": "status", "#expires": TTL_ATTRIBUTE},
                        ExpressionAttributeValues={
                            ":now": n(now),
                            ":in_progress": s("in_progress"),
                            ":fp": s(fingerprint),
                        },
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                    return IdempotencyClaim("new")
                except ClientError as error:
                    if error_code(error) != "ConditionalCheckFailedException":
                        raise
                    held: Mapping[str, Any] | None = error_field(error, "Item")
                if not held:
                    # A server without ReturnValuesOnConditionCheckFailure: read it.
                    held = self._client.get_item(
                        TableName=self.table_name, Key=keys.idem_key(key), ConsistentRead=True
                    ).get("Item")
            if held is None or int(held[TTL_ATTRIBUTE]["N"]) <= now:
                continue  # released or expired since our write: try again
            if held["fingerprint"]["S"] != fingerprint:
                return IdempotencyClaim("mismatch")
            if held["status"]["S"] == "completed":
                return IdempotencyClaim("completed", keys.stored_response(held))
            if int(held["lock_until"]["N"]) <= now:
                continue  # its owner's lock ran out since our write
            return IdempotencyClaim("in_progress")
        return IdempotencyClaim("in_progress")  # still contested: the caller answers 409

    def release_idempotency(self, key: str, *, owner: str) -> None:
        with self._boundary():
            try:
                self._client.delete_item(
                    TableName=self.table_name,
                    Key=keys.idem_key(key),
                    ConditionExpression="#owner = :owner AND #status = :in_progress",
                    ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
                    ExpressionAttributeValues={":owner": s(owner), ":in_progress": s("in_progress")},
                )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":  # not ours (any more): fine
                    raise

    # -- operations ------------------------------------------------------

    def ping(self) -> bool:
        """One consistent GetItem of a key that is never written: proves the
        table answers, costs one read unit, never a Scan or DescribeTable
        (which is rate-limited and needs another IAM action)."""
        try:
            self._client.get_item(TableName=self.table_name, Key=keys.PING_KEY, ConsistentRead=True)
        except (ClientError, BotoCoreError) as error:
            log.warning("DynamoDB ping failed: %s", translate(error, self.table_name))
            return False
        return True

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
