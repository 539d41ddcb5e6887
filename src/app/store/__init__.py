"""Storage: one interface (`base.Store`), two backends (SQLite locally, DynamoDB in the cloud)."""
