"""Pure rules of the identity service."""
