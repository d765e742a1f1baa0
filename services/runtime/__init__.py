"""Shared plumbing for every Kinerja service: config, database, events, web, auth, CLI.

Nothing here knows a business rule; services call into it from their factories.
"""
