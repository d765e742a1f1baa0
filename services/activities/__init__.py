"""Kinerja activities."""
