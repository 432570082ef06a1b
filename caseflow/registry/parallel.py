"""Cutting a CSV extract into chunks of whole records, and encoding them in worker processes.

A chunk is cut at newlines and used as it is while it is :func:`plain` (no quote,
no bare CR): there a newline always ends a record, and UTF-8 and GB18030 never
use the byte ``\\n`` inside a character.  From the first chunk that is not, the
csv module reads the rest of the file.  No pass over the whole file comes first:
the workers check each chunk as they encode it.  Workers turn each chunk into
ready ``COPY`` text plus its rejects (:mod:`caseflow.registry.batch`), and the
parent receives the chunks in file order.  At most a few chunks are in flight,
so memory stays flat whatever the file size.
"""
from __future__ import annotations

import csv
import io
import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from caseflow.security.crypto import CryptoSettings, Keyring

if TYPE_CHECKING:
    # Imported where used: the importing process starts the workers before it loads Polars (~0.25 s), so
    # that their start overlaps its own.
    from caseflow.registry import batch

_context: dict[str, object] = {}


class ChunkUndecodable(ValueError):
    """A chunk past the sniffed head is not in the file's encoding."""

    def __init__(self, first_line: int, encoding: str) -> None:
        super().__init__(first_line, encoding)
        self.first_line, self.encoding = first_line, encoding


def decode(first_line: int, data: bytes, encoding: str) -> str:
    """A chunk's text; bytes that are not in the file's encoding name the line they start after."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise ChunkUndecodable(first_line, encoding) from None


def _watch_parent(parent: int) -> None:
    """Exit when the importing process is gone (killed): an orphaned worker would wait for work forever."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _init(settings: CryptoSettings, schools: dict[str, int], today: date, import_id: int) -> None:
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    _context.update(keys=Keyring(settings.data_key, settings.suite), schools=schools, today=today,
                    import_id=import_id)


def _ctx(columns: dict[str, int]) -> batch.Context:
    """The worker's context for a file with these columns (built once: it plans the Polars checks)."""
    from caseflow.registry import batch

    key = tuple(columns.items())
    if _context.get("key") != key:
        _context.update(key=key, ctx=batch.Context(columns, _context["schools"], _context["today"],
                                                   _context["import_id"], _context["keys"]))
    return _context["ctx"]


def _encode(columns: dict[str, int], encoding: str, first_line: int, path: str, offset: int,
            length: int) -> tuple[bytes, list[list], int] | None:
    """Worker: one chunk of lines (:func:`spans`) -> (COPY text, rejects, records read); None if it is not
    :func:`plain`."""
    encoded = encode_chunk(first_line, read_span(path, offset, length), encoding, _ctx(columns))
    return None if encoded is None else encoded.for_copy()


def encode_chunk(first_line: int, data: bytes, encoding: str, ctx: batch.Context) -> batch.Encoded | None:
    """A chunk of lines encoded, or None if it is not :func:`plain` (the csv module must read from here).

    UTF-8 goes to Polars as bytes (no decoding into a Python string).
    """
    from caseflow.registry import batch

    if not plain(data):
        return None
    if encoding not in ("utf-8", "utf-8-sig"):
        return batch.encode_text(first_line, decode(first_line, data, encoding), ctx, checked=True)
    try:
        return batch.encode_text(first_line, data, ctx, checked=True)
    except batch.NotUtf8:
        raise ChunkUndecodable(first_line, encoding) from None


def _encode_records(columns: dict[str, int], records: list[tuple[int, list[str]]]) -> tuple[bytes, list[list], int]:
    """Worker: a batch of records split into cells -> (COPY text, rejects, records read)."""
    from caseflow.registry import batch

    return batch.encode_records(records, _ctx(columns)).for_copy()


def plain(data: bytes) -> bool:
    """No quote and no bare CR in these bytes: every line of them is one record.

    The csv module reads a quote inside an unquoted field as a plain character and a lone CR as a line
    end; cutting such text at newlines could split a record or misnumber lines, so from the first chunk
    that is not plain the csv module reads the rest of the file (:func:`encode_csv`).  A CR at the very
    end counts as bare (the LF that may follow is in the next chunk; chunks end after an LF).
    NumPy: ``bytes.count`` of CR and of CRLF took five times as long on a CRLF file.
    """
    if b'"' in data:
        return False
    if b"\r" not in data:
        return True
    import numpy as np

    raw = np.frombuffer(data, dtype=np.uint8)
    cr = np.flatnonzero(raw == 13)
    return int(cr[-1]) + 1 < len(raw) and bool((raw[cr + 1] == 10).all())


def header_end(path: Path, limit: int = 1 << 20) -> int | None:
    """The file offset after the header line, if the header is plain up to its LF; else None (the csv module
    reads the whole file: a quoted header cell, or lines that end in bare CRs)."""
    with path.open("rb") as fh:
        head = fh.read(limit)
    end = head.find(b"\n") + 1
    return end if end and plain(head[:end]) else None


def spans(path: Path, start: int, chunk_bytes: int) -> Iterator[tuple[int, int, int]]:
    """(first line number, file offset, length) of each chunk of whole lines from ``start`` (the offset of
    line 2, after the header), about ``chunk_bytes`` each: where the chunks are, not their bytes (a worker
    reads its own chunk, :func:`read_span`, so the file never passes through a pipe).

    Lines are cut at LF only: whether they are records is for :func:`plain` to say, chunk by chunk.  A line
    longer than a chunk makes its chunk longer.  The file is read once, into one buffer.
    """
    for first_line, offset, length, _buffer in _cut_lines(path, start, chunk_bytes):
        yield first_line, offset, length


def read_span(path: Path | str, offset: int, length: int) -> bytes:
    """The bytes of one chunk (:func:`spans`)."""
    with open(path, "rb", buffering=0) as fh:
        return os.pread(fh.fileno(), length, offset)


def chunks(path: Path, start: int, chunk_bytes: int) -> Iterator[tuple[int, bytes, int]]:
    """(first line number, bytes, file offset of the bytes) of each chunk of :func:`spans`, for encoding here."""
    for first_line, offset, length, buffer in _cut_lines(path, start, chunk_bytes):
        yield first_line, bytes(buffer[:length]), offset


def _cut_lines(path: Path, start: int, chunk_bytes: int) -> Iterator[tuple[int, int, int, bytearray]]:
    """(first line number, offset, length, buffer holding the chunk at its start) of each chunk: the buffer is
    reused once the caller asks for the next."""
    buffer = bytearray(chunk_bytes)
    with path.open("rb", buffering=0) as fh:
        fd, position, line = fh.fileno(), start, 2
        while True:
            size = os.preadv(fd, [buffer], position)
            if not size:
                return
            cut = buffer.rfind(b"\n", 0, size) + 1
            if not cut:
                if size < len(buffer):  # the last line, without a line end
                    yield line, position, size, buffer
                    return
                buffer = bytearray(2 * len(buffer))  # a line longer than the buffer
                continue
            yield line, position, cut, buffer
            line += buffer.count(b"\n", 0, cut)
            position += cut
            if len(buffer) > chunk_bytes:  # after a long line, chunks of the usual size again
                buffer = bytearray(chunk_bytes)


def record_batches(path: Path, encoding: str, offset: int, first_line: int,
                   size: int) -> Iterator[tuple[list[tuple[int, list[str]]], int]]:
    """(records, file position after them) in batches of ``size``, read by the csv module from ``offset``
    (the start of the record on line ``first_line``, or 0: the whole file after its header); blank records
    are left out, as everywhere."""
    with path.open("rb") as raw:
        raw.seek(offset)
        stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(stream)
        if not offset:
            next(reader, None)  # the header, which open_extract has checked
        rows = ((first_line - 1 + reader.line_num, values) for values in reader if any(v.strip() for v in values))
        while True:
            try:
                records = list(itertools.islice(rows, size))
            except UnicodeDecodeError:  # the text layer reads ahead: name the last line read whole
                raise ChunkUndecodable(first_line - 1 + reader.line_num, encoding) from None
            if not records:
                return
            yield records, raw.tell()


# The workers' environment.  One Polars thread per worker: the workers are the parallelism, and idle thread pools
# spinning on a two-core machine take CPU from PostgreSQL.  The allocators keep the memory a chunk freed for the
# next chunk instead of handing it back to the system and faulting it in again (a million rows: the workers'
# page faults ~330,000 -> ~65,000, their system CPU 0.7-0.9 -> 0.35-0.5 s; ~10 MB more a worker): glibc's for
# the chunk's bytes (its mmap threshold, 128 KB..32 MB by default, maps and unmaps 2 MB buffers), jemalloc's
# (Polars on Linux, which sets decays of 0.5 and 1 s in this variable when it is imported) for the columns.
# Other allocators ignore these names.
_WORKER_ENVIRONMENT = {
    "POLARS_MAX_THREADS": "1",
    "MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
    "_RJEM_MALLOC_CONF": "dirty_decay_ms:-1,muzzy_decay_ms:-1",
}


class Workers:
    """Worker processes that encode chunks; started before the work is cut (spawning takes a while).

    Each worker holds what every chunk of the import needs (:func:`_init`); tasks carry the file's
    columns and encoding, which are known only once it is opened.
    """

    def __init__(self, count: int, settings: CryptoSettings, schools: dict[str, int], today: date,
                 import_id: int) -> None:
        context = multiprocessing.get_context("spawn")
        # Spawned children copy the environment when they start.
        saved = {name: os.environ.get(name) for name in _WORKER_ENVIRONMENT}
        os.environ.update(_WORKER_ENVIRONMENT)
        try:
            self.pool = ProcessPoolExecutor(count, mp_context=context, initializer=_init,
                                            initargs=(settings, schools, today, import_id))
            # Each submit while no worker is idle starts one more process, with this environment.
            for _ in range(count):
                self.pool.submit(os.getpid)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        self.count = count

    def ordered(self, tasks: Iterator[tuple[Callable, tuple, object]]) -> Iterator[tuple[object, object]]:
        """(result, tag) of each (function, args, tag) task, in task order, at most a few in flight.

        Closing the iterator early cancels the tasks not yet started; those running finish unread.
        """
        pending: deque = deque()
        try:
            for function, args, tag in tasks:
                pending.append((self.pool.submit(function, *args), tag))
                if len(pending) > self.count + 1:
                    future, tag_ = pending.popleft()
                    yield future.result(), tag_
            while pending:
                future, tag_ = pending.popleft()
                yield future.result(), tag_
        finally:
            for future, _ in pending:
                future.cancel()
            if hasattr(tasks, "close"):
                tasks.close()  # the file being cut

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def encode_csv(path: Path, encoding: str, ctx: batch.Context, *, chunk_bytes: int, batch_size: int,
               workers: Workers | None,
               finish: Callable[[batch.Encoded], object]) -> Iterator[tuple[object, list[list], int, int]]:
    """(rows to store, rejects, records read, file position) of each piece of a CSV file, in file order.

    The file is cut at line ends while its chunks are :func:`plain`; the first chunk that is not starts
    at a record (everything before it was plain lines), and from there the csv module reads the rest in
    batches of records.  With ``workers`` the chunks are checked and encoded there (``finish`` is then
    unused: they send back COPY text); without, here, by ``finish`` of each :class:`batch.Encoded`.
    """
    start = header_end(path)
    resume = (0, 1) if start is None else (
        yield from _cut(path, encoding, ctx, start, chunk_bytes=chunk_bytes, workers=workers, finish=finish))
    if resume is not None:
        batches = record_batches(path, encoding, *resume, batch_size)
        yield from encode_records(batches, ctx, workers=workers, finish=finish)


def _cut(path: Path, encoding: str, ctx: batch.Context, start: int, *, chunk_bytes: int, workers: Workers | None,
         finish: Callable[[batch.Encoded], object]):
    """:func:`encode_csv` for the chunks cut from ``start``; returns (offset, line) of the first chunk that is
    not plain, or None when all were."""
    if workers is None:
        for first_line, data, offset in chunks(path, start, chunk_bytes):
            encoded = encode_chunk(first_line, data, encoding, ctx)
            if encoded is None:
                return offset, first_line
            yield finish(encoded), encoded.rejects, encoded.rows, offset + len(data)
        return None
    tasks = ((_encode, (ctx.columns, encoding, first_line, str(path), offset, length),
              (first_line, offset, offset + length)) for first_line, offset, length in spans(path, start, chunk_bytes))
    results = workers.ordered(tasks)
    for result, (first_line, offset, end) in results:
        if result is None:
            results.close()  # the chunks after it, cut and maybe encoded, are read again by the csv module
            return offset, first_line
        yield (*result, end)
    return None


def encode_records(batches: Iterable[tuple[list[tuple[int, list[str]]], int]], ctx: batch.Context, *,
                   workers: Workers | None,
                   finish: Callable[[batch.Encoded], object]) -> Iterator[tuple[object, list[list], int, int]]:
    """The same for batches of records already split into cells (the csv module, the XLSX reader)."""
    if workers is not None:
        tasks = ((_encode_records, (ctx.columns, records), position) for records, position in batches)
        for result, position in workers.ordered(tasks):
            yield (*result, position)
        return
    from caseflow.registry import batch

    for records, position in batches:
        encoded = batch.encode_records(records, ctx)
        yield finish(encoded), encoded.rejects, encoded.rows, position
