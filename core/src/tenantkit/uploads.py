"""Reading an upload's body as parts of one size, with bounded memory.

A provider that sends a large body in pieces (S3 multipart parts, Azure Blob blocks,
Cloud Storage resumable chunks) reads it through :class:`PartReader`:

* a part is exactly ``part_size`` bytes, the last one shorter (never empty);
* a stream is read into a new ``bytearray`` per part, filled in place (``readinto``
  where the stream has it, else ``read``), so memory holds the parts the provider
  keeps plus one small look-ahead, whatever the size of the body;
* an in-memory body (``bytes``, ``bytearray``, ``memoryview``) is never copied: its
  parts are ``memoryview`` slices of it;
* short reads (a pipe, a socket, a file object that returns less than asked) are
  read on until the part is full or the stream ends.

:meth:`PartReader.whole` tells a body that fits in one part (sent in one request)
from one that needs several; :meth:`PartReader.at_end` tells the last part (a
resumable upload must state the total size with it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from tenantkit.storage import Body

__all__ = ["MAX_PART_SIZE", "Part", "PartReader"]

MAX_PART_SIZE: Final = 5 * 1024**3
"""The largest part accepted: 5 GiB, the largest part any supported service takes
(S3's limit; Azure Blob's blocks stop at 4000 MiB). A part is held in memory whole."""

_LOOKAHEAD: Final = 64 * 1024
"""Bytes read ahead of a full part to learn whether the stream has ended."""

Part = bytearray | memoryview
"""A part: a ``bytearray`` read from a stream, or a slice of an in-memory body."""


class PartReader(Iterator[Part]):
    """Iterate ``body`` as parts of ``part_size`` bytes (the last may be shorter).

    An empty body has no parts. ``part_size`` must be from 1 to :data:`MAX_PART_SIZE`
    (``ValueError`` otherwise). The reader is single-use, like the stream it reads.
    """

    __slots__ = (
        "_body",
        "_carry",
        "_chunks",
        "_data",
        "_ended",
        "_head",
        "_offset",
        "_read",
        "_readinto",
        "_size",
    )

    def __init__(self, body: Body, part_size: int) -> None:
        if isinstance(part_size, bool) or not isinstance(part_size, int):
            raise TypeError("part_size must be an int")
        if not 1 <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be from 1 to {MAX_PART_SIZE} bytes, got {part_size}")
        self._size = part_size
        self._head: Part | None = None  # a part handed back by whole()
        self._carry = memoryview(b"")  # bytes read from the source, not yet in a part
        self._ended = False  # the source has nothing beyond _carry
        self._body = body if isinstance(body, bytes) else None
        self._data: memoryview | None = None
        self._offset = 0
        self._read: Callable[[int], bytes] | None = None
        self._readinto: Callable[[memoryview], int | None] | None = None
        self._chunks: Iterator[bytes] | None = None
        if isinstance(body, bytes | bytearray | memoryview):
            self._data = memoryview(body).cast("B")
        elif callable(read := getattr(body, "read", None)):
            self._read = read
            readinto = getattr(body, "readinto", None)
            self._readinto = readinto if callable(readinto) else None
        else:
            self._chunks = iter(body)

    @property
    def part_size(self) -> int:
        """Bytes per part."""
        return self._size

    def __iter__(self) -> PartReader:
        return self

    def __next__(self) -> Part:
        head = self._head
        if head is not None:
            self._head = None
            return head
        part = self._next_part()
        if part is None:
            raise StopIteration
        return part

    def whole(self) -> bytes | Part | None:
        """The body, if it is at most one part long (an empty body is an empty part;
        a ``bytes`` body is answered as it is, so ``bytes(whole)`` does not copy it);
        otherwise ``None``, and iterating yields every part from the first.

        Call it before iterating. It reads the first part and a small look-ahead.
        """
        part = next(self, None)
        if part is None:
            return bytearray() if self._data is None else self._data[:0]
        if self.at_end():
            return self._body if isinstance(self._body, bytes) else part
        self._head = part
        return None

    def at_end(self) -> bool:
        """Whether no part follows the ones already yielded (reads ahead a little)."""
        if self._head is not None:
            return False
        if self._data is not None:
            return self._offset >= len(self._data)
        return not self._fill_carry()

    # --- reading ------------------------------------------------------------------------

    def _next_part(self) -> Part | None:
        if self._data is not None:
            start = self._offset
            if start >= len(self._data):
                return None
            self._offset = start + self._size
            return self._data[start : self._offset]
        if not self._fill_carry():
            return None
        part = bytearray(self._size)
        with memoryview(part) as view:
            filled = self._take_carry(view)
            while filled < self._size and not self._ended:
                filled += self._fill(view[filled:])
        if filled < self._size:
            del part[filled:]
        return part

    def _take_carry(self, view: memoryview) -> int:
        n = min(len(view), len(self._carry))
        view[:n] = self._carry[:n]
        self._carry = self._carry[n:]
        return n

    def _fill(self, view: memoryview) -> int:
        """Read into ``view`` from the source: the bytes read, 0 once it has ended."""
        if self._readinto is not None:
            n = self._readinto(view)
            if not n:  # 0 at the end (None, "no data yet", only from non-blocking streams)
                self._ended = True
                return 0
            return n
        if self._read is not None:
            self._carry = memoryview(self._read(len(view))).cast("B")
            if not self._carry:
                self._ended = True
                return 0
        elif not self._more():
            return 0
        return self._take_carry(view)

    def _fill_carry(self) -> bool:
        """Whether bytes remain to be read: ``_carry`` holds some, or is refilled."""
        return bool(self._carry) or self._more()

    def _more(self) -> bool:
        """Read the next piece of the source into ``_carry``; ``False`` once it has ended."""
        while not self._ended:
            if self._read is not None:
                chunk: bytes | None = self._read(_LOOKAHEAD)
            else:
                assert self._chunks is not None
                chunk = next(self._chunks, None)
            if chunk is None or (self._read is not None and not chunk):
                self._ended = True
                return False
            if chunk:
                self._carry = memoryview(chunk).cast("B")
                return True
        return False
