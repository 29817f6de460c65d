"""Helpers that are not about one store: the bulk-copy runner."""
