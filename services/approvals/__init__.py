"""Kinerja approvals."""
