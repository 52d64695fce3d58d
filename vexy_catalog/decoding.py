"""Reading an answer's body: content encodings decoded as the bytes arrive, under one byte budget.

httpx decodes ``Content-Encoding`` itself, but a whole network chunk at a time through every
layer, and only then can a size check run: 6.6 KB of ``gzip, gzip`` expands to gigabytes inside
one chunk. Here the raw bytes are decoded layer by layer with zlib, each step producing at most
:data:`STEP` bytes, and the output of every layer is counted as it is produced. A body stops at
the budget whatever its compression ratio or layering, and memory stays at one step per layer.

vexy asks for ``gzip`` and ``deflate`` only (:data:`ACCEPT_ENCODING`); an answer in another
encoding (``br``, ``zstd``), or stacked more than :data:`MAX_LAYERS` deep, is refused.

A :class:`Budget` is shared by every page of one provider's answer: the limit is on the whole
answer, not on each page.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

from .errors import FetchError

__all__ = ["ACCEPT_ENCODING", "MAX_LAYERS", "Budget", "read_body"]

ACCEPT_ENCODING = "gzip, deflate"
# A server that stacks encodings ("gzip, gzip") gets this many layers decoded; more is refused.
MAX_LAYERS = 3
# Bytes a decoding step may produce at most.
STEP = 64 * 1024
_GZIP = ("gzip", "x-gzip")


class Budget:
    """How many decoded bytes one provider's answer may still take, over all its pages."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self.pages = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def spend(self, nbytes: int) -> None:
        self.used += nbytes
        self.pages += 1

    def exceeded(self, status: int | None = None) -> FetchError:
        over = f" over {self.pages + 1} pages" if self.pages else ""
        return FetchError(f"the answer passed the {self.limit:,}-byte limit{over} (counted decoded)", status)


class _Layer:
    """One content encoding, decoded a step at a time."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.decoder = self._new()
        self.produced = 0
        self._first = True

    def _new(self) -> zlib._Decompress:
        if self.encoding in _GZIP:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self.decoder.decompress(data, STEP)
            except zlib.error:
                if self.encoding == "deflate" and self._first:
                    # "deflate" is often sent raw, without the zlib header (as browsers accept).
                    self._first = False
                    self.decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise FetchError(f"the answer's {self.encoding} encoding is damaged") from None
            self._first = False
            data = self.decoder.unconsumed_tail
            if out:
                self.produced += len(out)
                yield out
            if self.decoder.eof:
                rest = self.decoder.unused_data
                if self.encoding in _GZIP and rest.strip(b"\0"):
                    # A gzip body may hold several members, one after another.
                    self.decoder = self._new()
                    data = rest
                    continue
                return
            if not data and len(out) < STEP:
                return


def _layers(content_encoding: str | None) -> list[_Layer]:
    names = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
    names = [n for n in names if n != "identity"]
    unknown = [n for n in names if n not in (*_GZIP, "deflate")]
    if unknown:
        raise FetchError(
            f"the answer is encoded as {unknown[0]!r}, which vexy did not ask for (it accepts {ACCEPT_ENCODING})"
        )
    if len(names) > MAX_LAYERS:
        raise FetchError(
            f"the answer is encoded {len(names)} times over ({', '.join(names)}): vexy decodes at most {MAX_LAYERS}"
        )
    # The last encoding applied is the first to undo.
    return [_Layer(n) for n in reversed(names)]


async def read_body(
    raw: AsyncIterator[bytes],
    content_encoding: str | None,
    limit: int,
    budget: Budget | None = None,
    cut: bool = False,
) -> bytes:
    """The decoded body from ``raw`` (an httpx ``aiter_raw()``), at most ``limit`` bytes.

    Past ``limit`` (decoded, or in any encoding layer's output) it raises :class:`FetchError`
    (from the budget when one is given), or with ``cut`` stops reading and returns the first
    ``limit`` bytes (the start of an error answer is all its message needs).
    """
    layers = _layers(content_encoding)
    chunks: list[bytes] = []
    size = 0

    class _Full(Exception):
        pass

    def over() -> Exception:
        if cut:
            return _Full()
        if budget is not None:
            return budget.exceeded()
        return FetchError(f"the answer passed the {limit:,}-byte limit (counted decoded)")

    def through(data: bytes, index: int) -> Iterator[bytes]:
        if index == len(layers):
            yield data
            return
        layer = layers[index]
        for piece in layer.feed(data):
            if layer.produced > limit:
                raise over()
            yield from through(piece, index + 1)

    received = 0
    try:
        async for chunk in raw:
            received += len(chunk)
            if received > limit and not cut:
                raise over()
            for piece in through(chunk, 0):
                size += len(piece)
                chunks.append(piece)
                if size > limit:
                    raise over()
            if cut and received > limit:
                break
    except _Full:
        pass
    body = b"".join(chunks)
    return body[:limit] if cut else body
