"""Frames between the engine and the script child: a 4-byte length, then a pickle.

The parent unpickles what a child sends with `SafeUnpickler`, which only rebuilds plain data
types: a child that ran a hostile script can at worst send wrong data, never code.
"""

from __future__ import annotations

import io
import pickle
import struct
from typing import Any, BinaryIO

MAX_FRAME = 64 * 1024 * 1024
_ALLOWED = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "slice"),
    ("decimal", "Decimal"),
    ("datetime", "date"),
    ("datetime", "datetime"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("collections", "OrderedDict"),
    ("uuid", "UUID"),
}


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"不允许的类型 {module}.{name}")


def write_frame(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def read_exact(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("script child closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def decode(data: bytes) -> Any:
    return SafeUnpickler(io.BytesIO(data)).load()


def read_frame(stream: BinaryIO) -> Any:
    (size,) = struct.unpack(">I", read_exact(stream, 4))
    if size > MAX_FRAME:
        raise EOFError("frame too large")
    return decode(read_exact(stream, size))
