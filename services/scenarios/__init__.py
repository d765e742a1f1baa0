"""Scripted journeys through the platform's public APIs, used by the demo command and the end-to-end tests."""
