"""Kinerja directory."""
