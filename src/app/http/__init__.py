"""HTTP plumbing shared by every route: problem+json errors, request context, logs, limits."""
