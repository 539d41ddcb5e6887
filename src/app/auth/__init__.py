"""JWT bearer authentication: keys, verification, the middleware and route dependencies."""
