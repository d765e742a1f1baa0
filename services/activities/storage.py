"""Where evidence files live: content-addressed on disk under `<data_dir>/evidence/`.

The store is chosen by configuration (`ACTIVITIES_EVIDENCE_STORE`, default `disk`). An S3-compatible store is
the documented extension point: a class with the same `put(sha256, content) -> key` and `get(key) -> bytes`
methods, selected here by name, with its bucket and endpoint read from `ACTIVITIES_S3_*` settings.
"""
from __future__ import annotations

import os
from pathlib import Path

from runtime.config import Settings


class DiskStore:
    """Files named by their SHA-256 under one directory; the same content is stored once."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, sha256: str, content: bytes) -> str:
        """Store `content` (whose checksum is `sha256`) and return its key."""
        key = f"{sha256[:2]}/{sha256}"
        path = self.root / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(content)
            os.replace(partial, path)  # a reader never sees half a file
        return key

    def get(self, key: str) -> bytes:
        """The stored bytes of `key`."""
        return (self.root / key).read_bytes()


def make_store(settings: Settings) -> DiskStore:
    """The evidence store configured for this process."""
    kind = settings.extra.get("ACTIVITIES_EVIDENCE_STORE", "disk")
    if kind != "disk":
        raise ValueError(f"ACTIVITIES_EVIDENCE_STORE={kind!r}: only 'disk' is available in this build")
    return DiskStore(Path(settings.data_dir) / "evidence")
