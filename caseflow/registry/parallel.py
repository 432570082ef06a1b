"""Cutting a CSV extract into chunks of whole records, and encoding them in worker processes.

Only files without quotes and bare CRs are cut (:func:`plain`): there a newline
always ends a record, and UTF-8 and GB18030 never use the byte ``\\n`` inside a
character.  Workers turn each chunk into ready
``COPY`` text plus its rejects (:mod:`caseflow.registry.batch`), and the parent
receives the chunks in file order.  At most a few chunks are in flight, so
memory stays flat whatever the file size.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from caseflow.registry import batch
from caseflow.security import crypto

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


def _init(data_key: str, schools: dict[str, int], columns: dict[str, int], encoding: str, today: date,
          import_id: int) -> None:
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    crypto.configure(data_key)
    _context.update(ctx=batch.Context(columns, schools, today, import_id), encoding=encoding)


def _encode(first_line: int, data: bytes) -> tuple[bytes, list[list], int]:
    """Worker: one chunk of records -> (COPY text, rejects, records read)."""
    return batch.encode_text(first_line, decode(first_line, data, _context["encoding"]), _context["ctx"]).for_copy()


def plain(path: Path, block_bytes: int = 8 << 20) -> bool:
    """No quote and no bare CR anywhere: lines are records, so the file can be cut at any newline.

    The csv module reads a quote inside an unquoted field as a plain character and a lone CR as a line
    end; cutting such a file by counting quotes and newlines could split a record or misnumber lines.
    Those files are read by the csv module itself (correct, row by row, slower).  The scan is three
    memchr-speed passes a block (a regular expression here took 1.7 s for 1M rows, before any work began).
    """
    with path.open("rb") as fh:
        carry = b""  # a CR ending the previous block, to be paired with the LF that may start this one
        while block := fh.read(block_bytes):
            block = carry + block
            if b'"' in block:
                return False
            carry = b"\r" if block.endswith(b"\r") else b""
            if block.count(b"\r") - len(carry) != block.count(b"\r\n"):
                return False
        return not carry


def chunks(path: Path, encoding: str, chunk_bytes: int) -> Iterator[tuple[int, bytes, int]]:
    """(first line number, bytes, file position after) for each chunk of whole lines after the header.

    Only for files that :func:`plain` accepts: there every line is one record.
    """
    with path.open("rb") as fh:
        buffer = fh.read(chunk_bytes)
        if encoding == "utf-8-sig" and buffer.startswith(b"\xef\xbb\xbf"):
            buffer = buffer[3:]
        # The header line, which open_extract has already checked.
        while not (end := buffer.find(b"\n") + 1):
            more = fh.read(chunk_bytes)
            if not more:
                return
            buffer += more
        line, buffer = 2, buffer[end:]
        while True:
            more = fh.read(chunk_bytes)
            if not more:
                if buffer:
                    yield line, buffer, fh.tell()
                return
            buffer += more
            cut = buffer.rfind(b"\n") + 1
            if cut:
                yield line, buffer[:cut], fh.tell() - (len(buffer) - cut)
                line += buffer.count(b"\n", 0, cut)
                buffer = buffer[cut:]


def encode_parallel(path: Path, encoding: str, *, workers: int, init_args: tuple,
                    chunk_bytes: int) -> Iterator[tuple[bytes, list[list], int, int]]:
    """(COPY text, rejects, records read, file position) of each chunk, encoded in ``workers`` processes."""
    tasks = ((_encode, (first_line, data), position)
             for first_line, data, position in chunks(path, encoding, chunk_bytes))
    return _pipeline(tasks, workers, init_args)


def encode_parallel_records(batches: Iterator[tuple[list, int]], *, workers: int,
                            init_args: tuple) -> Iterator[tuple[bytes, list[list], int, int]]:
    """The same for batches of records read by the csv module or the XLSX reader (files that cannot be cut)."""
    return _pipeline(((_encode_records, (records,), position) for records, position in batches), workers,
                     init_args)


def _encode_records(records: list[tuple[int, list[str]]]) -> tuple[bytes, list[list], int]:
    return batch.encode_records(records, _context["ctx"]).for_copy()


def _pipeline(tasks, workers: int, init_args: tuple) -> Iterator[tuple[bytes, list[list], int, int]]:
    """Run (function, args, position) tasks in worker processes; results in task order, few in flight."""
    context = multiprocessing.get_context("spawn")
    # One Polars thread per worker: the workers are the parallelism, and idle thread pools spinning on a
    # two-core machine take CPU from PostgreSQL. Spawned children copy the environment when they start.
    saved = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=init_args)
        # Each submit while no worker is idle starts one more process, with this environment.
        started = [pool.submit(os.getpid) for _ in range(workers)]
    finally:
        if saved is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = saved
    with pool:
        for future in started:
            future.result()
        pending: deque = deque()
        for function, args, position in tasks:
            pending.append((pool.submit(function, *args), position))
            if len(pending) > workers + 1:
                future, at = pending.popleft()
                yield (*future.result(), at)
        while pending:
            future, at = pending.popleft()
            yield (*future.result(), at)
