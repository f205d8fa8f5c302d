"""``tenantkit.uploads.PartReader``: a body read as parts of one size, memory bounded."""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Iterator

import pytest

from tenantkit.uploads import MAX_PART_SIZE, PartReader

DATA = os.urandom(10_000)


class _Trickle(io.RawIOBase):
    """A raw stream that answers every read with at most ``step`` bytes (a pipe, a socket)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._pos = 0
        self._step = step
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.reads += 1
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


class _ReadOnly:
    """A file-like object with ``read`` only, answering short reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def read(self, size: int = -1) -> bytes:
        n = min(size, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk


def _chunks(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    pos, i = 0, 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        yield data[pos : pos + n]
        pos += n
        i += 1


def _bodies(data: bytes) -> dict[str, object]:
    return {
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "BytesIO": io.BytesIO(data),
        "buffered file": io.BufferedReader(io.BytesIO(data)),  # type: ignore[arg-type]
        "trickle (readinto, 7 bytes a read)": _Trickle(data, 7),
        "read only, 13 bytes a read": _ReadOnly(data, 13),
        "iterable of odd chunks": _chunks(data, [1, 999, 0, 4096, 3]),
        "list of one chunk": [data],
    }


KINDS = list(_bodies(b""))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("part_size", [1, 7, 1000, 4096, 10_000, 10_001, 1 << 20])
def test_parts_are_exact_and_rejoin_to_the_body(kind: str, part_size: int) -> None:
    parts = list(PartReader(_bodies(DATA)[kind], part_size))  # type: ignore[arg-type]
    assert b"".join(parts) == DATA
    assert all(len(p) == part_size for p in parts[:-1])
    assert 0 < len(parts[-1]) <= part_size
    assert len(parts) == -(-len(DATA) // part_size)


@pytest.mark.parametrize("kind", KINDS)
def test_exact_multiple_has_no_empty_last_part(kind: str) -> None:
    parts = list(PartReader(_bodies(DATA)[kind], 2_500))  # type: ignore[arg-type]
    assert [len(p) for p in parts] == [2_500] * 4
    assert b"".join(parts) == DATA


@pytest.mark.parametrize("kind", KINDS)
def test_empty_body_has_no_parts_and_is_whole(kind: str) -> None:
    assert list(PartReader(_bodies(b"")[kind], 100)) == []  # type: ignore[arg-type]
    whole = PartReader(_bodies(b"")[kind], 100).whole()  # type: ignore[arg-type]
    assert whole is not None
    assert bytes(whole) == b""


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [1, 9_999, 10_000])
def test_whole_answers_a_body_of_at_most_one_part(kind: str, size: int) -> None:
    reader = PartReader(_bodies(DATA[:size])[kind], 10_000)  # type: ignore[arg-type]
    whole = reader.whole()
    assert whole is not None
    assert bytes(whole) == DATA[:size]
    assert reader.at_end()
    assert list(reader) == []


@pytest.mark.parametrize("kind", KINDS)
def test_whole_gives_back_the_first_part_of_a_longer_body(kind: str) -> None:
    reader = PartReader(_bodies(DATA)[kind], 9_999)  # type: ignore[arg-type]
    assert reader.whole() is None
    assert not reader.at_end()
    first = next(reader)
    assert bytes(first) == DATA[:9_999]
    assert not reader.at_end()
    last = next(reader)
    assert bytes(last) == DATA[9_999:]
    assert reader.at_end()
    assert next(reader, None) is None


@pytest.mark.parametrize("kind", KINDS)
def test_at_end_tells_the_last_part(kind: str) -> None:
    reader = PartReader(_bodies(DATA)[kind], 3_000)  # type: ignore[arg-type]
    seen = []
    for part in reader:
        seen.append((len(part), reader.at_end()))
    assert seen == [(3_000, False), (3_000, False), (3_000, False), (1_000, True)]


def test_short_reads_are_read_on_until_the_part_is_full() -> None:
    stream = _Trickle(DATA, 7)
    parts = list(PartReader(stream, 4_096))  # type: ignore[arg-type]
    assert [len(p) for p in parts] == [4_096, 4_096, 1_808]
    assert stream.reads > len(DATA) // 7  # it did read in 7-byte steps


def test_in_memory_bodies_are_not_copied() -> None:
    data = bytearray(DATA)
    parts = list(PartReader(data, 4_000))
    assert all(isinstance(p, memoryview) and p.obj is data for p in parts)
    whole = PartReader(data, 20_000).whole()
    assert isinstance(whole, memoryview)
    assert whole.obj is data
    assert PartReader(DATA, 20_000).whole() is DATA  # bytes(whole) is then DATA itself


def test_stream_parts_are_new_buffers_filled_in_place() -> None:
    parts = list(PartReader(io.BytesIO(DATA), 4_000))
    assert all(type(p) is bytearray for p in parts)
    assert len({id(p) for p in parts}) == len(parts)


@pytest.mark.parametrize("size", [0, -1, MAX_PART_SIZE + 1, 1 << 40])
def test_part_sizes_out_of_range_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="part_size must be from 1 to"):
        PartReader(io.BytesIO(DATA), size)


@pytest.mark.parametrize("size", [True, 4096.0, "4096"])
def test_part_size_must_be_an_int(size: object) -> None:
    with pytest.raises(TypeError, match="part_size must be an int"):
        PartReader(io.BytesIO(DATA), size)  # type: ignore[arg-type]


def test_largest_part_size_is_accepted_without_allocating_it() -> None:
    parts = list(PartReader(io.BytesIO(DATA), MAX_PART_SIZE))
    assert [bytes(p) for p in parts] == [DATA]


def _generated(total: int, chunk: int) -> Iterator[bytes]:
    block = os.urandom(chunk)
    for _ in range(total // chunk):
        yield block


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: _generated(32 << 20, 1 << 20), id="iterable"),
        pytest.param(lambda: _Trickle(bytes(32 << 20), 300_000), id="readinto"),
    ],
)
def test_memory_is_bounded_by_the_parts_held(make: object) -> None:
    body = make()  # type: ignore[operator]
    tracemalloc.start()
    try:
        total = 0
        for part in PartReader(body, 1 << 20):
            total += len(part)
            del part
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 32 << 20
    # one part being filled, one chunk of the source and the look-ahead: not the body
    assert peak < 3 << 20
