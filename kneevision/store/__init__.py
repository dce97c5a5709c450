"""Storage of analyses by patient and session (SQLite)."""

from kneevision.store.db import SCHEMA_VERSION, Store, metric_rows

__all__ = ["SCHEMA_VERSION", "Store", "metric_rows"]
