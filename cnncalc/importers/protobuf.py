"""A reader of Protocol Buffers' wire format, just enough for ONNX files: no protobuf package, no copies.

ONNX files are mostly weights (ResNet-50: 98 MiB of 98). The file is memory-mapped and every length-delimited field
is a (start, end) pair into it, so a weight is skipped by its length and never read: counting needs the graph and the
initializers' shapes only. Every read is bounds-checked; a truncated or corrupt file raises `WireError`.
"""
from __future__ import annotations

import struct
from typing import Iterator, Tuple

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message (truncated, or not protobuf at all)."""

    def __init__(self, message: str, at: int):
        super().__init__(f"{message} at byte {at:,}")
        self.at = at


def varint(buf, at: int, end: int) -> Tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= end:
            raise WireError("truncated number", at)
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise WireError("malformed number", at)


def signed(value: int) -> int:
    """An int64 as protobuf writes it (two's complement in 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def fields(buf, start: int, end: int) -> Iterator[Tuple[int, int, object]]:
    """(field number, wire type, value) of one message: an int for varints, (start, end) for length-delimited
    fields, the raw bytes of fixed-width ones."""
    at = start
    while at < end:
        key, at = varint(buf, at, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0", at)
        if wire == VARINT:
            value, at = varint(buf, at, end)
        elif wire == LEN:
            size, at = varint(buf, at, end)
            if at + size > end:
                raise WireError(f"a field of {size:,} bytes runs past the end of its message", at)
            value, at = (at, at + size), at + size
        elif wire == I32:
            if at + 4 > end:
                raise WireError("truncated 32-bit value", at)
            value, at = bytes(buf[at:at + 4]), at + 4
        elif wire == I64:
            if at + 8 > end:
                raise WireError("truncated 64-bit value", at)
            value, at = bytes(buf[at:at + 8]), at + 8
        else:
            raise WireError(f"wire type {wire} (not protobuf, or a corrupt file)", at)
        yield number, wire, value


def text(buf, span) -> str:
    start, end = span
    return bytes(buf[start:end]).decode("utf-8", "replace")


def packed_varints(buf, wire: int, value) -> list:
    """A repeated int64 field's items in this occurrence (packed, or one unpacked item)."""
    if wire == VARINT:
        return [signed(value)]
    start, end = value
    out, at = [], start
    while at < end:
        v, at = varint(buf, at, end)
        out.append(signed(v))
    return out


def packed_floats(buf, wire: int, value) -> list:
    if wire == I32:
        return [struct.unpack("<f", value)[0]]
    start, end = value
    return list(struct.unpack(f"<{(end - start) // 4}f", bytes(buf[start:start + (end - start) // 4 * 4])))
