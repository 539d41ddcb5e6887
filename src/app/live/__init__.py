"""Live orders: a change becomes messages for an audience, the same code in all three places.

audience, changes and fanout are pure (stdlib and :mod:`app.store` records only: no
FastAPI, pydantic or SDK), so the Lambda stream consumer imports nothing it does not
use; only the transport differs (an in-process hub locally, the management API in
the cloud).
"""
