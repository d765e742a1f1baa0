"""Kinerja payroll."""
