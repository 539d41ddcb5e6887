"""Customers' orders: placed idempotently, read by their owner, moved through a small state machine."""
