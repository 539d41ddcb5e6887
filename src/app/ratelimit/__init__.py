"""Per-client rate limiting: HTTP APIs have no usage plans, so the app does it."""
