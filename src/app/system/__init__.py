"""Routes about the service itself: the index, /hello and /health."""
