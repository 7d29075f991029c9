"""Stored delivery payloads: LZ4-compressed when large, told apart from plain JSON by their first byte.

Webhook JSON repeats the same keys and URLs over and over. An LZ4 frame shrinks a 22 KB GitHub
`pull_request` payload to about 2.8 KB for ~6 us of CPU (zlib at level 1: 2.4 KB for ~33 us, a
fifth of what acknowledging the delivery costs), which is less than writing the other 19 KB to the
WAL and again to the database at checkpoint. An LZ4 frame starts with the bytes 04 22 4D 18 and a
zlib stream (rows stored by earlier versions) with 0x78 ("x"); no JSON text starts with either
(RFC 8259, section 2), so uncompressed rows read as they are.
https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md#general-structure-of-lz4-frame-format
"""
from __future__ import annotations

import zlib

import lz4.frame

LZ4_MAGIC = b"\x04\x22\x4d\x18"
ZLIB_FIRST_BYTE = b"x"
COMPRESS_FROM = 512  # bytes; smaller bodies (Slack commands) gain too little to be worth it


class DamagedPayload(ValueError):
    """A stored compressed payload that no longer decompresses."""


def pack(raw: bytes) -> bytes:
    """What to store for a delivery body."""
    return lz4.frame.compress(raw) if len(raw) >= COMPRESS_FROM else raw


def unpack(stored: bytes) -> bytes:
    """The delivery body as it was received; DamagedPayload if a compressed one is damaged."""
    try:
        if stored[:4] == LZ4_MAGIC:
            return lz4.frame.decompress(stored)
        if stored[:1] == ZLIB_FIRST_BYTE:
            return zlib.decompress(stored)
    except (RuntimeError, zlib.error) as exc:  # python-lz4 raises RuntimeError for a bad frame
        raise DamagedPayload(str(exc)) from None
    return stored
