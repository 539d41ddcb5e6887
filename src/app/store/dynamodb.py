"""The DynamoDB backend: one table, a handful of key shapes, every write conditional.

Single-table design. Every item has string keys ``PK`` (partition) and ``SK``
(sort); one global secondary index ``GSI1`` serves the only query by a
non-key attribute. Access patterns and the keys that answer them:

=====================================  ==============================  =============================
access pattern                         key                             operation
=====================================  ==============================  =============================
menu item by id                        PK=MENU, SK=ITEM#<id>           GetItem (consistent)
all menu items, by id                  PK=MENU, SK begins_with ITEM#   Query (consistent), never Scan
some menu items (an order's lines)     PK=MENU, SK=ITEM#<id> ...       BatchGetItem (consistent)
order by id                            PK=ORDER#<id>, SK=ORDER         GetItem (consistent)
a customer's orders, newest first      GSI1PK=CUSTOMER#<sub>,          Query GSI1 descending,
                                       GSI1SK=<order id>               cursor = the last order id
open orders, oldest first (kitchen)    a marker PK=ORDER#<id>, SK=OPEN Query GSI1 ascending, then
                                       GSI1PK=KITCHEN#OPEN,            BatchGetItem the orders
                                       GSI1SK=<order id>               (consistent)
idempotency record by key              PK=IDEM#<key>, SK=IDEM          conditional PutItem
rate-limit counter (reserved)          PK=RATE#<client>,               conditional UpdateItem (ADD)
                                       SK=WINDOW#<window start>
=====================================  ==============================  =============================

The whole menu lives in one partition: a restaurant's menu is small (far below
a partition's 10 GB and 3000 reads/s), it is cached in each container, and one
partition is what lets it be read with a Query. Orders get a partition each, so
writes spread evenly. Order ids are ULID-like and sort by creation time, so
``GSI1SK=<order id>`` with ``ScanIndexForward=False`` lists newest first, and the
cursor of a page is just the last id on it.

The kitchen's marker of an order is written in the order's own creation
transaction and deleted when the order is served or cancelled, so the board is
one Query of a sparse partition of the one index (no second index, no Scan).
The delete follows the order's conditional write rather than joining it in a
transaction: the conditional PutItem alone decides which of concurrent writers
wins, as before. Should a process die between the two, the marker outlives its
open order; the board reads every order it lists from the table, consistently,
and leaves out what is no longer open, so a late marker costs a read, never a
wrong board.

Consistency: reads of the base table ask for strongly consistent reads, so a
write is visible to the next read, as in SQLite. A GSI cannot be read
consistently: ``list_orders`` may miss an order placed a moment ago (typically
well under a second) -- the AWS guide on GSI read consistency,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Reading

Items that expire (idempotency records, rate-limit counters) carry
``expires_at`` in epoch seconds, the table's TTL attribute. TTL deletion is lazy
(within days), so every condition also compares ``expires_at`` with "now".

Every boto3/botocore failure is translated at this module's boundary:
throttling, 5xx, timeouts and connection errors, a missing table or bad
credentials become :class:`StoreUnavailable` (503, retry later); anything else
is a bug here and becomes a plain :class:`StoreError`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, NoReturn

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from app.store.base import (
    OPEN_STATUSES,
    AlreadyExists,
    IdempotencyClaim,
    IdempotencyCompletion,
    MenuItem,
    Order,
    OrderLine,
    OrderPage,
    StoredResponse,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from app.store.sdk import new_client

if TYPE_CHECKING:
    from typing import TypeAlias

    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        AttributeValueTypeDef,
        GlobalSecondaryIndexTypeDef,
        KeySchemaElementTypeDef,
        QueryInputTypeDef,
    )

    Item: TypeAlias = dict[str, AttributeValueTypeDef]

log = logging.getLogger(__name__)

# -- the table, as CreateTable wants it (template.yaml must match; a test compares them) --

GSI1: Final = "GSI1"
TTL_ATTRIBUTE: Final = "expires_at"
BILLING_MODE: Final = "PAY_PER_REQUEST"
KEY_SCHEMA: list[KeySchemaElementTypeDef] = [
    {"AttributeName": "PK", "KeyType": "HASH"},
    {"AttributeName": "SK", "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS: list[AttributeDefinitionTypeDef] = [
    {"AttributeName": "PK", "AttributeType": "S"},
    {"AttributeName": "SK", "AttributeType": "S"},
    {"AttributeName": "GSI1PK", "AttributeType": "S"},
    {"AttributeName": "GSI1SK", "AttributeType": "S"},
]
GLOBAL_SECONDARY_INDEXES: list[GlobalSecondaryIndexTypeDef] = [
    {
        "IndexName": GSI1,
        "KeySchema": [
            {"AttributeName": "GSI1PK", "KeyType": "HASH"},
            {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
]

_MENU_PK: Final = "MENU"
_ITEM_PREFIX: Final = "ITEM#"
_PING_KEY: Final[Item] = {"PK": {"S": "HEALTH"}, "SK": {"S": "PING"}}
_BATCH_GET_MAX: Final = 100  # BatchGetItem's limit per request
_BATCH_GET_ROUNDS: Final = 5

_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)
_SERVER = frozenset({"InternalServerError", "ServiceUnavailable", "ServiceUnavailableException"})
# A transaction (or a write racing one) touching the same item: retry later.
_CONFLICT = frozenset({"TransactionConflictException"})
_MISCONFIGURED = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
    }
)
_CANCEL_RETRYABLE = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "TransactionConflict"}
)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_field(error: ClientError, name: str) -> Any:
    """A modelled field of an error body (``Item``, ``CancellationReasons``),
    which botocore puts into ``response`` but its stubs do not declare."""
    body: Mapping[str, Any] = error.response
    return body.get(name)


def _cancellation_reasons(error: ClientError) -> list[str]:
    """One reason per action of a cancelled transaction, in order; "None" for those that passed."""
    return [r.get("Code", "None") for r in _error_field(error, "CancellationReasons") or []]


def _raise_cancelled(reasons: list[str]) -> NoReturn:
    if _CANCEL_RETRYABLE.intersection(reasons):
        raise StoreUnavailable(f"DynamoDB transaction cancelled: {reasons}") from None
    raise StoreError(f"DynamoDB transaction cancelled: {reasons}") from None


def _translate(error: ClientError | BotoCoreError, table: str) -> StoreError:
    if isinstance(error, ParamValidationError):
        return StoreError(f"DynamoDB rejected a request before sending it: {error}")
    if isinstance(error, BotoCoreError):
        # Connection refused, connect/read timeouts (after the retries), no
        # credentials, a waiter that gave up: the store is not reachable now.
        return StoreUnavailable(f"DynamoDB unreachable: {type(error).__name__}")
    code = _code(error)
    if code in _THROTTLED or code in _CONFLICT:
        return StoreUnavailable(f"DynamoDB busy: {code}", retry_after=1)
    if code in _SERVER or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return StoreUnavailable(f"DynamoDB failed: {code}")
    if code == "ResourceNotFoundException":
        return StoreUnavailable(f"DynamoDB table {table!r} does not exist (check APP_DYNAMODB_TABLE)")
    if code in _MISCONFIGURED:
        return StoreUnavailable(f"DynamoDB refused the credentials or permissions: {code}")
    return StoreError(f"DynamoDB error: {code or type(error).__name__}")


# -- attribute maps (hand-written: a few fields, no Decimal round trip) --


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def _menu_key(item_id: str) -> Item:
    return {"PK": _s(_MENU_PK), "SK": _s(_ITEM_PREFIX + item_id)}


def _order_key(order_id: str) -> Item:
    return {"PK": _s("ORDER#" + order_id), "SK": _s("ORDER")}


def _idem_key(key: str) -> Item:
    return {"PK": _s("IDEM#" + key), "SK": _s("IDEM")}


def _menu_from_item(item: Mapping[str, Any]) -> MenuItem:
    return MenuItem(
        id=item["id"]["S"],
        name=item["name"]["S"],
        price_cents=int(item["price_cents"]["N"]),
        available=bool(item["available"]["BOOL"]),
    )


_KITCHEN_PK: Final = "KITCHEN#OPEN"


def _kitchen_marker_key(order_id: str) -> Item:
    return {"PK": _s("ORDER#" + order_id), "SK": _s("OPEN")}


def _order_to_item(order: Order) -> Item:
    item: Item = {
        **_order_key(order.id),
        "GSI1PK": _s("CUSTOMER#" + order.customer),
        "GSI1SK": _s(order.id),
        "id": _s(order.id),
        "customer": _s(order.customer),
        "status": _s(order.status),
        "lines": {
            "L": [
                {
                    "M": {
                        "item_id": _s(line.item_id),
                        "name": _s(line.name),
                        "quantity": _n(line.quantity),
                        "unit_price_cents": _n(line.unit_price_cents),
                    }
                }
                for line in order.lines
            ]
        },
        "total_cents": _n(order.total_cents),
        "created_at": _s(order.created_at),
        "updated_at": _s(order.updated_at),
        "version": _n(order.version),
    }
    if order.note is not None:  # absent means None; "" stays ""
        item["note"] = _s(order.note)
    return item


def _order_from_item(item: Mapping[str, Any]) -> Order:
    lines = tuple(
        OrderLine(
            item_id=line["M"]["item_id"]["S"],
            name=line["M"]["name"]["S"],
            quantity=int(line["M"]["quantity"]["N"]),
            unit_price_cents=int(line["M"]["unit_price_cents"]["N"]),
        )
        for line in item["lines"]["L"]
    )
    note = item.get("note")
    return Order(
        id=item["id"]["S"],
        customer=item["customer"]["S"],
        status=item["status"]["S"],
        lines=lines,
        total_cents=int(item["total_cents"]["N"]),
        note=note["S"] if note is not None and "S" in note else None,
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        version=int(item["version"]["N"]),
    )


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
            raise _translate(error, self.table_name) from error

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
                if _code(error) != "ResourceNotFoundException":
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
                    if _code(create_error) != "ResourceInUseException":  # another process won
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
            "ExpressionAttributeValues": {":pk": _s(_MENU_PK), ":prefix": _s(_ITEM_PREFIX)},
            "ConsistentRead": True,
        }
        items: list[MenuItem] = []
        with self._boundary():
            while True:  # a Query page stops at 1 MB
                page = self._client.query(**query)
                items.extend(_menu_from_item(item) for item in page["Items"])
                if "LastEvaluatedKey" not in page:
                    return items
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_menu_item(self, item_id: str) -> MenuItem | None:
        with self._boundary():
            found = self._client.get_item(
                TableName=self.table_name, Key=_menu_key(item_id), ConsistentRead=True
            )
        return _menu_from_item(found["Item"]) if "Item" in found else None

    def get_menu_items(self, item_ids: list[str]) -> dict[str, MenuItem]:
        """BatchGetItem of exactly the ids asked for (an order has at most 50
        distinct items), rather than reading the whole menu partition: the cost
        follows the order, not the size of the menu. Unprocessed keys (throttled
        parts of a batch) are retried a few times with backoff, then 503."""
        items = self._batch_get([_menu_key(item_id) for item_id in sorted(set(item_ids))], "menu")
        return {menu_item.id: menu_item for menu_item in map(_menu_from_item, items)}

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
                Item={
                    **_menu_key(item.id),
                    "id": _s(item.id),
                    "name": _s(item.name),
                    "price_cents": _n(item.price_cents),
                    "available": {"BOOL": item.available},
                },
                ReturnValues="ALL_OLD",
            )
        return not result.get("Attributes")

    def delete_menu_item(self, item_id: str) -> bool:
        with self._boundary():
            result = self._client.delete_item(
                TableName=self.table_name, Key=_menu_key(item_id), ReturnValues="ALL_OLD"
            )
        return bool(result.get("Attributes"))

    # -- orders ----------------------------------------------------------

    def create_order(self, order: Order, completion: IdempotencyCompletion | None = None) -> None:
        item = _order_to_item(order)
        new_only = "attribute_not_exists(PK)"
        # A new order is open: its kitchen marker comes with it, in the same transaction.
        marker = {
            **_kitchen_marker_key(order.id),
            "GSI1PK": _s(_KITCHEN_PK),
            "GSI1SK": _s(order.id),
        }
        if completion is None:
            with self._boundary():
                try:
                    self._client.transact_write_items(
                        TransactItems=[
                            {
                                "Put": {
                                    "TableName": self.table_name,
                                    "Item": item,
                                    "ConditionExpression": new_only,
                                }
                            },
                            {"Put": {"TableName": self.table_name, "Item": marker}},
                        ]
                    )
                except ClientError as error:
                    if _code(error) != "TransactionCanceledException":
                        raise
                    reasons = _cancellation_reasons(error)
                    if reasons[:1] == ["ConditionalCheckFailed"]:
                        raise AlreadyExists(order.id) from None
                    _raise_cancelled(reasons)
            return
        # One transaction: the order exists iff its idempotency record says
        # "completed" with the response to replay, and only while this request
        # still owns the key (it may have been taken over after lock_until).
        with self._boundary():
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": item,
                                "ConditionExpression": new_only,
                            }
                        },
                        {
                            "Update": {
                                "TableName": self.table_name,
                                "Key": _idem_key(completion.key),
                                "UpdateExpression": (
                                    "SET #status = :completed, response_status = :rs, "
                                    "response_body = :rb, #expires = :exp REMOVE lock_until"
                                ),
                                "ConditionExpression": "#status = :in_progress AND #owner = :owner",
                                "ExpressionAttributeNames": {
                                    "#status": "status",
                                    "#owner": "owner",
                                    "#expires": TTL_ATTRIBUTE,
                                },
                                "ExpressionAttributeValues": {
                                    ":completed": _s("completed"),
                                    ":in_progress": _s("in_progress"),
                                    ":owner": _s(completion.owner),
                                    ":rs": _n(completion.response.status),
                                    ":rb": _s(completion.response.body),
                                    ":exp": _n(completion.expires_at),
                                },
                            }
                        },
                        {"Put": {"TableName": self.table_name, "Item": marker}},
                    ]
                )
            except ClientError as error:
                if _code(error) != "TransactionCanceledException":
                    raise
                reasons = _cancellation_reasons(error)
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    raise AlreadyExists(order.id) from None
                if reasons[1:2] == ["ConditionalCheckFailed"]:
                    raise VersionConflict(f"idempotency key no longer held by {completion.owner}") from None
                _raise_cancelled(reasons)

    def get_order(self, order_id: str) -> Order | None:
        with self._boundary():
            found = self._client.get_item(
                TableName=self.table_name, Key=_order_key(order_id), ConsistentRead=True
            )
        return _order_from_item(found["Item"]) if "Item" in found else None

    def list_orders(self, customer: str, *, limit: int, after: str | None) -> OrderPage:
        """Asks for one order more than the page holds, so ``next_after`` is set
        only when another order really follows. (DynamoDB returns a
        LastEvaluatedKey whenever ``Limit`` is reached, even at the very end;
        trusting it would hand out a cursor to an empty page.)"""
        if limit < 1 or after == "":  # "" sorts before every id: nothing comes after it
            return OrderPage()
        partition = _s("CUSTOMER#" + customer)
        query: QueryInputTypeDef = {
            "TableName": self.table_name,
            "IndexName": GSI1,
            "KeyConditionExpression": "GSI1PK = :customer",
            "ExpressionAttributeValues": {":customer": partition},
            "ScanIndexForward": False,
        }
        if after is not None:
            # A GSI's start key names the index keys and the table keys. The item
            # need not exist: the Query resumes at the first id below ``after``.
            query["ExclusiveStartKey"] = {"GSI1PK": partition, "GSI1SK": _s(after), **_order_key(after)}
        items: list[Mapping[str, Any]] = []
        with self._boundary():
            while len(items) <= limit:
                query["Limit"] = limit + 1 - len(items)
                page = self._client.query(**query)
                items.extend(page["Items"])
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        orders = [_order_from_item(item) for item in items[:limit]]
        more = len(items) > limit
        return OrderPage(items=orders, next_after=orders[-1].id if more else None)

    def list_open_orders(self, *, limit: int) -> list[Order]:
        query: QueryInputTypeDef = {
            "TableName": self.table_name,
            "IndexName": GSI1,
            "KeyConditionExpression": "GSI1PK = :kitchen",
            "ExpressionAttributeValues": {":kitchen": _s(_KITCHEN_PK)},
            "ScanIndexForward": True,
        }
        ids: list[str] = []
        with self._boundary():
            while len(ids) < limit:
                query["Limit"] = limit - len(ids)
                page = self._client.query(**query)
                ids.extend(item["GSI1SK"]["S"] for item in page["Items"])
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        orders = [_order_from_item(item) for item in self._batch_get([_order_key(i) for i in ids], "orders")]
        return sorted((o for o in orders if o.status in OPEN_STATUSES), key=lambda o: o.id)

    def update_order(self, order: Order, *, expected_version: int) -> None:
        with self._boundary():
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item=_order_to_item(order),
                    ConditionExpression="attribute_exists(PK) AND #version = :expected",
                    ExpressionAttributeNames={"#version": "version"},
                    ExpressionAttributeValues={":expected": _n(expected_version)},
                )
            except ClientError as error:
                if _code(error) == "ConditionalCheckFailedException":
                    raise VersionConflict(order.id) from None
                raise
            if order.status not in OPEN_STATUSES:
                # Off the kitchen's board (see the module's docstring on why not in one transaction).
                self._client.delete_item(TableName=self.table_name, Key=_kitchen_marker_key(order.id))

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
                        Item={
                            **_idem_key(key),
                            "status": _s("in_progress"),
                            "fingerprint": _s(fingerprint),
                            "owner": _s(owner),
                            "lock_until": _n(lock_until),
                            TTL_ATTRIBUTE: _n(expires_at),
                        },
                        ConditionExpression=(
                            "attribute_not_exists(PK) OR #expires <= :now OR "
                            "(#status = :in_progress AND lock_until <= :now AND fingerprint = :fp)"
                        ),
                        ExpressionAttributeNames={"#status": "status", "#expires": TTL_ATTRIBUTE},
                        ExpressionAttributeValues={
                            ":now": _n(now),
                            ":in_progress": _s("in_progress"),
                            ":fp": _s(fingerprint),
                        },
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                    return IdempotencyClaim("new")
                except ClientError as error:
                    if _code(error) != "ConditionalCheckFailedException":
                        raise
                    held: Mapping[str, Any] | None = _error_field(error, "Item")
                if not held:
                    # A server without ReturnValuesOnConditionCheckFailure: read it.
                    held = self._client.get_item(
                        TableName=self.table_name, Key=_idem_key(key), ConsistentRead=True
                    ).get("Item")
            if held is None or int(held[TTL_ATTRIBUTE]["N"]) <= now:
                continue  # released or expired since our write: try again
            if held["fingerprint"]["S"] != fingerprint:
                return IdempotencyClaim("mismatch")
            if held["status"]["S"] == "completed":
                response = StoredResponse(int(held["response_status"]["N"]), held["response_body"]["S"])
                return IdempotencyClaim("completed", response)
            if int(held["lock_until"]["N"]) <= now:
                continue  # its owner's lock ran out since our write
            return IdempotencyClaim("in_progress")
        return IdempotencyClaim("in_progress")  # still contested: the caller answers 409

    def release_idempotency(self, key: str, *, owner: str) -> None:
        with self._boundary():
            try:
                self._client.delete_item(
                    TableName=self.table_name,
                    Key=_idem_key(key),
                    ConditionExpression="#owner = :owner AND #status = :in_progress",
                    ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
                    ExpressionAttributeValues={":owner": _s(owner), ":in_progress": _s("in_progress")},
                )
            except ClientError as error:
                if _code(error) != "ConditionalCheckFailedException":  # not ours (any more): fine
                    raise

    # -- operations ------------------------------------------------------

    def ping(self) -> bool:
        """One consistent GetItem of a key that is never written: proves the
        table answers, costs one read unit, never a Scan or DescribeTable
        (which is rate-limited and needs another IAM action)."""
        try:
            self._client.get_item(TableName=self.table_name, Key=_PING_KEY, ConsistentRead=True)
        except (ClientError, BotoCoreError) as error:
            log.warning("DynamoDB ping failed: %s", _translate(error, self.table_name))
            return False
        return True

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
