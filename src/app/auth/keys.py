"""The signing keys, from a JWKS URL or file, cached for the container's life.

Fetched on first need, or earlier: the process's own app (``app.main``, on
Lambda at init) starts a fetch in the background, so the first token finds the
keys fetched. A token whose ``kid`` is unknown may trigger a
refetch (keys rotate), but at most one per :data:`REFETCH_INTERVAL` however many
random kids arrive, so a flood of forged tokens cannot become a fetch storm. A
failed fetch keeps the keys already known: an outage of the JWKS endpoint only
affects tokens signed by keys this container has never seen.

A fetch blocks for up to :data:`FETCH_TIMEOUT`, and so does every lookup that
waits for a fetch another thread is running. Under uvicorn those must stay off
the event loop: :meth:`JwksCache.key` with ``wait=False`` never blocks and says
(:class:`FetchPending`) when the caller has to retry from a worker thread.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jose.backends.base import Key

log = logging.getLogger("app.auth")

REFETCH_INTERVAL = 30.0
FETCH_TIMEOUT = 3.0
# How long an exiting process waits for a prefetch still under way (fetch_in_background).
EXIT_WAIT_SECONDS = FETCH_TIMEOUT + 1.0
MAX_JWKS_BYTES = 256 * 1024

# Only asymmetric algorithms: never "none", never HMAC (a public key used as an
# HMAC secret is the classic forgery). Case-sensitive on purpose (RFC 7515 4.1.1).
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})
EC_ALGORITHMS = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
ALLOWED_ALGORITHMS = RSA_ALGORITHMS | frozenset(EC_ALGORITHMS)


class KeyNotFound(Exception):
    pass


class FetchPending(Exception):
    """The key is unknown and a fetch is due or running: only waiting can tell."""


def _usable(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("kid"), str)
        and entry.get("kty") in ("RSA", "EC")
        and entry.get("use", "sig") == "sig"
        and entry.get("alg", "RS256" if entry.get("kty") == "RSA" else "ES256") in ALLOWED_ALGORITHMS
    )


class JwksCache:
    def __init__(
        self,
        *,
        url: str | None = None,
        file: str | None = None,
        timeout: float = FETCH_TIMEOUT,
        refetch_interval: float = REFETCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url and not file:
            raise ValueError("a JWKS URL or file is required")
        self.url = url
        self.file = file
        self.timeout = timeout
        self.refetch_interval = refetch_interval
        self.clock = clock
        self.fetches = 0
        self._jwks: dict[str, dict[str, Any]] = {}
        self._constructed: dict[tuple[str, str], Key] = {}
        self._last_attempt: float | None = None
        self._lock = threading.Lock()
        self._background: threading.Thread | None = None

    def key(self, kid: str, alg: str, *, wait: bool = True) -> tuple[Key, dict[str, Any]]:
        """The verification key for ``kid`` and ``alg``, and its JWK.

        Raises :class:`KeyNotFound`. With ``wait`` it may block for up to the
        fetch timeout (its own fetch, or one another thread is running); without
        it, it never blocks and raises :class:`FetchPending` instead.
        """
        jwks = self._jwks
        entry = jwks.get(kid)
        if entry is None:
            if wait:
                self._maybe_fetch()
            else:
                self._check_nothing_pending()
            entry = self._jwks.get(kid)
            if entry is None:
                raise KeyNotFound(kid)
        cached = self._constructed.get((kid, alg))
        if cached is not None:
            return cached, entry
        # python-jose and its cryptography backend cost ~35 ms to import: paid
        # by the first token, not by every cold start (a public /hello needs none).
        from jose import jwk

        constructed = jwk.construct(entry, alg)
        self._constructed[(kid, alg)] = constructed
        return constructed, entry

    def prefetch(self) -> None:
        """Fetch the keys now and build each key object once, as a first token
        would (SnapStart's before-snapshot hook). A failure is logged and leaves
        no throttle stamp: the first token fetches at once."""
        self.fetch_now()
        for kid, entry in list(self._jwks.items()):  # and build each key object once
            alg = entry.get("alg", "RS256" if entry.get("kty") == "RSA" else "ES256")
            try:
                self.key(kid, alg, wait=False)
            except Exception as error:  # a key jose cannot build is refused later, per token
                log.warning("JWKS key %s not usable: %s", kid, type(error).__name__)

    def fetch_now(self) -> None:
        """Fetch the keys now unless a fetch is running or recent (then wait for
        it, or do nothing); a failure leaves no throttle stamp."""
        running = self._background
        if running is not None and running is not threading.current_thread():
            running.join()
        self._maybe_fetch(prefetch=True)

    def fetch_in_background(self) -> threading.Thread:
        """:meth:`fetch_now` in a daemon thread started now (Lambda's init): the
        issuer's round trip and the TLS set-up (which releases the GIL) overlap
        the rest of init instead of delaying the first token. The keys are built
        by the first token that needs them: python-jose's import is CPU work,
        which a thread would only move into init, onto every cold start (a
        public ``/hello`` needs no key). A lookup meanwhile waits for the fetch
        as for any other."""
        thread = threading.Thread(target=self.fetch_now, name="jwks-prefetch", daemon=True)
        self._background = thread
        thread.start()
        # A process that exits while the fetch is under way (a test, a script, never
        # Lambda, which freezes and discards) waits for it a little: a daemon thread
        # still inside the socket or TLS layers when the interpreter finalizes can
        # crash it (exit status -11, seen here about once in ten exits).
        atexit.register(thread.join, EXIT_WAIT_SECONDS)
        return thread

    def forget_attempts(self) -> None:
        """Drop the refetch throttle's stamp (taken on another clock before a
        SnapStart snapshot): the next unknown kid may fetch at once."""
        self._last_attempt = None

    def _check_nothing_pending(self) -> None:
        # The fetch holds the lock from its stamp until the new keys are in, so
        # a lock that is free and a stamp that is recent mean no fetch can bring
        # this kid now. Asked without waiting: the lock is never waited for here.
        if not self._lock.acquire(blocking=False):
            raise FetchPending
        try:
            if self._may_fetch():
                raise FetchPending
        finally:
            self._lock.release()

    def _may_fetch(self) -> bool:
        last = self._last_attempt
        return last is None or self.clock() - last >= self.refetch_interval

    def _maybe_fetch(self, *, prefetch: bool = False) -> None:
        with self._lock:
            try:
                self._fetch_if_due()
            finally:
                if prefetch and not self._jwks:  # nothing came: the first token may fetch at once
                    self._last_attempt = None

    def _fetch_if_due(self) -> None:
        # Called with the lock held.
        if not self._may_fetch():
            return
        # Stamped before the fetch: concurrent and failing attempts count too.
        self._last_attempt = self.clock()
        self.fetches += 1
        try:
            document = self._load()
        except Exception as error:
            log.warning(
                "JWKS fetch failed; keeping %d known keys",
                len(self._jwks),
                extra={"jwks_source": self.url or self.file, "error": type(error).__name__},
            )
            return
        keys = {entry["kid"]: entry for entry in document.get("keys", []) if _usable(entry)}
        self._jwks = keys
        self._constructed = {k: v for k, v in self._constructed.items() if k[0] in keys}

    def _load(self) -> dict[str, Any]:
        if self.file:
            raw = Path(self.file).read_bytes()
        else:
            import urllib.request  # only for a URL source, at the first fetch

            assert self.url is not None
            if not self.url.startswith(("https://", "http://")):
                raise ValueError("JWKS URL must be http(s)")
            request = urllib.request.Request(self.url, headers={"Accept": "application/json"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(MAX_JWKS_BYTES + 1)
            if len(raw) > MAX_JWKS_BYTES:
                raise ValueError("JWKS document too large")
        document = json.loads(raw)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWK Set")
        return document
