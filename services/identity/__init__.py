"""The identity service: accounts keyed by NIP, sign-in, tokens and the platform's signing keys."""
