"""The check the browser tests apply to each screenshot tells a whole PNG from a broken one."""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.web.conftest import PNG_SIGNATURE, png_size


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, rows: int | None = None) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(
        b"\x00" + b"\x10\x20\x30" * width for _ in range(height if rows is None else rows)
    )
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(pixels))
        + _chunk(b"IEND", b"")
    )


def test_a_whole_png_gives_its_size() -> None:
    assert png_size(_png(7, 3)) == (7, 3)


@pytest.mark.parametrize(
    "broken",
    [
        b"",
        b"GIF89a" + _png(7, 3)[6:],
        _png(7, 3)[:-12],  # no IEND
        _png(7, 3, rows=2),  # fewer rows than the header says
        _png(7, 3)[:40] + b"\xff" + _png(7, 3)[41:],  # a flipped byte: the CRC fails
    ],
    ids=["empty", "signature", "truncated", "rows", "crc"],
)
def test_a_broken_png_is_refused(broken: bytes) -> None:
    with pytest.raises((AssertionError, zlib.error, struct.error, IndexError)):
        png_size(broken)
