"""Kinerja attendance."""
