"""Kinerja scoring."""
