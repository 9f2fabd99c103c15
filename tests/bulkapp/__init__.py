"""Models for tests/test_bulk.py (bulk_create_batch)."""
