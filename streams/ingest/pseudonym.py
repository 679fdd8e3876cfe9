"""Keyed hashing of personal data: email and phone never leave memory in clear."""

from __future__ import annotations

from hashlib import blake2b


class Pseudonymizer:
    """Replaces a personal value by a keyed BLAKE2b hash (128 bits, hex).

    The kind ("email", "phone", ...) personalises the hash, so equal strings of
    different kinds never collide. Without the key the hash cannot be reversed
    by trying every phone number.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the pseudonymisation key must not be empty")
        self._key = blake2b(key, digest_size=32).digest()

    def hash(self, kind: str, value: str) -> str:
        return blake2b(
            value.encode(), key=self._key, person=kind.encode()[:16], digest_size=16
        ).hexdigest()
