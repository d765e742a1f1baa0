"""The language services speak on Kafka: topic names, the event envelope, one schema per event type.

No logic lives here. `contracts.registry.EVENTS` maps every event type to its topic and data schema.
"""
