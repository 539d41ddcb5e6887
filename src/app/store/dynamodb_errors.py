"""The DynamoDB backend's boundary: every boto3/botocore failure becomes a store error.

Throttling, 5xx, timeouts and connection errors, a missing table or bad
credentials become :class:`StoreUnavailable` (503, retry later); anything else
is a bug in the store and becomes a plain :class:`StoreError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from app.store.base import AlreadyExists, StoreError, StoreUnavailable, VersionConflict

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
# TransactionInProgress: the same ClientRequestToken is still being applied (the SDK
# retries it; if it still is after the retries, so may the client).
_CONFLICT = frozenset({"TransactionConflictException", "TransactionInProgressException"})
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


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_field(error: ClientError, name: str) -> Any:
    """A modelled field of an error body (``Item``, ``CancellationReasons``),
    which botocore puts into ``response`` but its stubs do not declare."""
    body: Mapping[str, Any] = error.response
    return body.get(name)


def cancel_reasons(error: ClientError) -> list[str]:
    """One reason per action of a cancelled transaction, in order; "None" for those that passed."""
    return [r.get("Code", "None") for r in error_field(error, "CancellationReasons") or []]


def raise_cancelled(reasons: list[str]) -> NoReturn:
    if _CANCEL_RETRYABLE.intersection(reasons):
        raise StoreUnavailable(f"DynamoDB transaction cancelled: {reasons}") from None
    raise StoreError(f"DynamoDB transaction cancelled: {reasons}") from None


def raise_order_cancelled(error: ClientError, order_id: str, *, owner: str | None = None) -> NoReturn:
    """A cancelled order-creating transaction: its first action puts the order (only
    if new), its second, given the completion's ``owner``, completes the idempotency
    record (only while that owner holds it)."""
    reasons = cancel_reasons(error)
    if reasons[:1] == ["ConditionalCheckFailed"]:
        raise AlreadyExists(order_id) from None
    if owner is not None and reasons[1:2] == ["ConditionalCheckFailed"]:
        raise VersionConflict(f"idempotency key no longer held by {owner}") from None
    raise_cancelled(reasons)


def translate(error: ClientError | BotoCoreError, table: str) -> StoreError:
    if isinstance(error, ParamValidationError):
        return StoreError(f"DynamoDB rejected a request before sending it: {error}")
    if isinstance(error, BotoCoreError):
        # Connection refused, connect/read timeouts (after the retries), no
        # credentials, a waiter that gave up: the store is not reachable now.
        return StoreUnavailable(f"DynamoDB unreachable: {type(error).__name__}")
    code = error_code(error)
    if code in _THROTTLED or code in _CONFLICT:
        return StoreUnavailable(f"DynamoDB busy: {code}", retry_after=1)
    if code in _SERVER or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return StoreUnavailable(f"DynamoDB failed: {code}")
    if code == "ResourceNotFoundException":
        return StoreUnavailable(f"DynamoDB table {table!r} does not exist (check APP_DYNAMODB_TABLE)")
    if code in _MISCONFIGURED:
        return StoreUnavailable(f"DynamoDB refused the credentials or permissions: {code}")
    return StoreError(f"DynamoDB error: {code or type(error).__name__}")
