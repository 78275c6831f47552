"""Content hashes of files: BLAKE3 (fast, parallel-friendly), read in large blocks."""

from __future__ import annotations

from pathlib import Path

import blake3

BLOCK = 4 * 1024 * 1024
ALGORITHM = "blake3"


def hash_file(path: Path | str) -> str:
    """``blake3:<hex>`` of a file's bytes."""
    size = Path(path).stat().st_size
    if size >= 64 * 1024 * 1024:
        # blake3 hashes a mapped file with several threads (max_threads=AUTO): disk speed on large files.
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(str(path))
    else:
        hasher = blake3.blake3()
        with open(path, "rb", buffering=0) as handle:
            while chunk := handle.read(BLOCK):
                hasher.update(chunk)
    return f"{ALGORITHM}:{hasher.hexdigest()}"


def hash_bytes(data: bytes) -> str:
    return f"{ALGORITHM}:{blake3.blake3(data).hexdigest()}"
