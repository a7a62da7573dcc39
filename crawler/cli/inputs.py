"""Turning one file (or stdin) into the documents ``leakpatrol scan`` scans.

* Text is scanned as bytes, whole whatever its size: a document larger than one window is handed
  over as a stream of chunks (see :mod:`crawler.detect.windows`), so memory stays bounded.
* A file starting with a UTF-16 or UTF-32 byte-order mark is decoded and scanned as UTF-8 text,
  and also as raw bytes (a BOM-like start of a binary file must not hide the ASCII tokens in it).
* Binary files (more than 1 byte in 64 of the first 8 KiB is NUL) are skipped and counted.
* Archives (zip, jar, whl, tar, tar.gz/bz2/xz, gz/bz2/xz) are scanned inside, members named
  ``archive!member``, down to ``archive_depth`` levels and within ``archive_bytes`` of decompressed
  data per archive on the command line. An archive whose members declare more than that (a zip
  bomb) is skipped without being expanded; one that turns out bigger while read is cut there.
"""

from __future__ import annotations

import codecs
import functools
import io
from collections.abc import Callable, Iterator
from typing import IO, Any, NamedTuple

from crawler.cli.walk import Skipped
from crawler.detect.windows import WINDOW

SNIFF = 8192
CHUNK = WINDOW
BINARY = "binary"
TOO_DEEP = "archive nested too deep"
OVER_CAP = "archive over the decompressed-size cap"
DAMAGED = "damaged archive"
ENCRYPTED = "encrypted archive member"
OVER_SIZE = "larger than --max-file-size"
#: byte-order marks, UTF-32 first (its little-endian mark starts with UTF-16's)
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# The archive modules are imported when an archive is met (a scan of plain files starts faster).


def _gzip(f: IO[bytes]) -> Any:
    import gzip

    return gzip.GzipFile(fileobj=f)


def _bz2(f: IO[bytes]) -> Any:
    import bz2

    return bz2.BZ2File(f)


def _xz(f: IO[bytes]) -> Any:
    import lzma

    return lzma.LZMAFile(f)


_COMPRESSED: dict[bytes, Callable[[IO[bytes]], Any]] = {  # each closed by its reader's ``with``
    b"\x1f\x8b": _gzip, b"BZh": _bz2, b"\xfd7zXZ\x00": _xz}
Opener = Callable[[], Any]
"""Opens a binary file object (a file, an archive member, a decompressing reader)."""


class Limits(NamedTuple):
    max_file_size: int | None = None
    archive_depth: int = 3
    archive_bytes: int = 1 << 30
    """Decompressed bytes read from one archive named on the command line, nested ones included."""


class Doc:
    """A document to scan: ``data`` whole, or ``chunks()`` for one larger than a window.

    ``counted`` is False for the decoded copy of a BOM file (its bytes are counted once); ``problem``
    is set when a stream stopped early (over the archive cap, unreadable): scanned up to there.
    (A slotted class, not a dataclass: importing :mod:`dataclasses` was a good part of ``scan``'s start-up.)"""

    __slots__ = ("chunks", "counted", "data", "path", "problem", "size")

    def __init__(self, path: str, size: int, data: bytes | None = None,
                 chunks: Callable[[], Iterator[bytes]] | None = None, counted: bool = True,
                 problem: str | None = None) -> None:
        self.path, self.size, self.data, self.chunks = path, size, data, chunks
        self.counted, self.problem = counted, problem

    def __repr__(self) -> str:
        return f"Doc({self.path!r}, {self.size}, counted={self.counted}, problem={self.problem!r})"


class _OverCap(Exception):
    pass


class _Budget:
    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left

    def charge(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise _OverCap


def _read(fh: IO[bytes], budget: _Budget | None, n: int) -> bytes:
    data = fh.read(n)
    if budget is not None:
        budget.charge(len(data))
    return data


def is_binary(head: bytes) -> bool:
    """More than 1 byte in 64 of the first ``SNIFF`` bytes is NUL (looked at in place: no copy)."""
    if head.find(b"\0", 0, SNIFF) < 0:  # the common case, at memchr speed
        return False
    return head.count(b"\0", 0, SNIFF) * 64 > min(len(head), SNIFF)


def _bom(head: bytes) -> str | None:
    return next((enc for bom, enc in BOMS if head.startswith(bom)), None)


_SPECIAL_STARTS = (b"PK\x03\x04", b"PK\x05\x06", *_COMPRESSED, *(bom for bom, _ in BOMS))


def plain(head: bytes) -> bool:
    """Whether a whole file's bytes are one text document as they are (no archive, no byte-order mark,
    not binary): what :func:`documents` would yield as a single :class:`Doc`, decided in one pass."""
    return not head.startswith(_SPECIAL_STARTS) and not (len(head) > 262 and head[257:262] == b"ustar") \
        and not is_binary(head)


def _archive_kind(head: bytes) -> str | None:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    return next(("compressed" for magic in _COMPRESSED if head.startswith(magic)), None)


def documents(path: str, opener: Opener, limits: Limits, depth: int = 0,
              budget: _Budget | None = None) -> Iterator[Doc | Skipped]:
    """The documents of one file (or archive member) named ``path`` in reports."""
    try:
        with opener() as fh:
            head = _read(fh, budget, CHUNK + 1)
            whole = len(head) <= CHUNK
            size = len(head) if whole else -1
        kind = _archive_kind(head)
        if kind is not None:
            import lzma
            import tarfile
            import zipfile

            if depth >= limits.archive_depth:
                yield Skipped(path, TOO_DEEP)
                return
            top = budget is None
            budget = budget or _Budget(limits.archive_bytes)
            try:
                yield from _archive(path, kind, head if whole else None, opener, limits, depth + 1, budget)
            except _OverCap:
                if not top:
                    raise
                yield Skipped(path, OVER_CAP)
            except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, lzma.LZMAError, ValueError):
                yield Skipped(path, DAMAGED)
            return
        if is_binary(head) and _bom(head) is None:
            yield Skipped(path, BINARY)
            return
        yield from _text(path, head, whole, size, opener, budget)
    except _OverCap:
        raise
    except OSError:
        yield Skipped(path, "unreadable")


def _text(path: str, head: bytes, whole: bool, size: int, opener: Opener,
          budget: _Budget | None) -> Iterator[Doc]:
    enc = _bom(head)
    if whole:
        yield Doc(path, size, data=head)
        if enc:
            yield Doc(path, size, data=head.decode(enc, "replace").encode("utf-8", "surrogatepass"), counted=False)
        return
    raw = Doc(path, -1)
    raw.chunks = functools.partial(_stream, raw, opener, budget, None, len(head))
    yield raw
    if enc:
        decoded = Doc(path, -1, counted=False)
        decoded.chunks = functools.partial(_stream, decoded, opener, budget, enc, len(head))
        yield decoded


def _stream(doc: Doc, opener: Opener, budget: _Budget | None, enc: str | None, paid: int) -> Iterator[bytes]:
    """A big document's chunks (decoded from ``enc`` if given), read again from the start: the first
    ``paid`` bytes were charged to the budget when the head was sniffed. Read lazily, while it is
    scanned, so a problem met on the way is noted on ``doc`` instead of raised into the scan."""
    import lzma
    import tarfile
    import zipfile

    dec = codecs.getincrementaldecoder(enc)("replace") if enc else None
    try:
        with opener() as fh:
            while chunk := fh.read(CHUNK):
                if budget is not None:
                    budget.charge(max(0, len(chunk) - paid))
                    paid = max(0, paid - len(chunk))
                yield dec.decode(chunk).encode("utf-8", "surrogatepass") if dec else chunk
        if dec:
            yield dec.decode(b"", final=True).encode("utf-8", "surrogatepass")
    except _OverCap:
        doc.problem = OVER_CAP
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, lzma.LZMAError, ValueError):
        doc.problem = "unreadable"


def _archive(path: str, kind: str, data: bytes | None, opener: Opener, limits: Limits, depth: int,
             budget: _Budget) -> Iterator[Doc | Skipped]:
    import tarfile
    import zipfile

    def source() -> IO[bytes]:
        return io.BytesIO(data) if data is not None else opener()

    if kind == "zip":
        with source() as fh, zipfile.ZipFile(fh) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if sum(i.file_size for i in infos) > budget.left:
                raise _OverCap  # what the archive declares is already too much: never expand it
            for info in infos:
                if info.flag_bits & 0x1:
                    yield Skipped(f"{path}!{info.filename}", ENCRYPTED)
                    continue
                yield from _member(f"{path}!{info.filename}", functools.partial(zf.open, info), limits, depth, budget)
        return
    if kind == "compressed":
        if data is None:
            with opener() as fh:
                data_start = fh.read(8)
        else:
            data_start = data[:8]
        wrap = next(w for m, w in _COMPRESSED.items() if data_start.startswith(m))
        with source() as fh, wrap(fh) as inner:
            head = inner.read(SNIFF * 64)  # a tar inside? (its header is 512 bytes in)
        if _archive_kind(head) == "tar":
            kind = "tar"
        else:
            name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "data"
            yield from _member(f"{path}!{name}", lambda: wrap(source()), limits, depth, budget)
            return
    with source() as fh, tarfile.open(fileobj=fh, mode="r:*") as tf:
        for m in tf:
            if m.isfile():
                yield from _member(f"{path}!{m.name}", functools.partial(tf.extractfile, m), limits, depth, budget)


def _member(path: str, opener: Callable[[], Any], limits: Limits, depth: int,
            budget: _Budget) -> Iterator[Doc | Skipped]:
    def checked() -> Any:
        fh = opener()
        if fh is None:
            raise OSError(f"{path}: cannot be read")
        return fh

    yield from documents(path, checked, limits, depth, budget)
