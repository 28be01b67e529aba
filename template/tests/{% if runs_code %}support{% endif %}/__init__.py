"""Helpers for running the service as it runs in production."""
