"""Where images come from: a folder, a list of files (a browser upload) or a zip archive.

A source is listed first (names, folders, what must be refused outright) and read later,
file by file, from worker threads. The rules that keep a public upload harmless:

- a zip is read in memory, member by member, and never extracted; no filesystem path is
  ever built from a name inside it; names are only displayed and used as class labels;
- the number of entries is counted from the central directory itself before anything is
  read (the declared count is written by the attacker);
- bytes are counted as they are inflated, per entry (size and ratio caps) and for the
  whole job (total cap); only stored and deflated entries are read, because deflate's
  output can be bounded per call while bzip2/lzma inflate whole blocks at once;
- symbolic links (in zips and folders) are skipped, nested archives refused, overlapping
  entries refuse the archive, and macOS/Windows metadata (`__MACOSX/`, `._*`, `.DS_Store`,
  `Thumbs.db`, hidden files) is ignored.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from gan_core.data.decode import SkipImage, archive_kind
from gan_core.data.limits import ByteBudget, Limits, format_bytes
from gan_core.errors import DatasetError

PathLike = Union[str, "os.PathLike[str]"]
# A source: a folder or zip path, or a list of files, each a path or (path, display name).
# The display name (e.g. "cat/001.png" from a browser folder upload) gives labels, never a path.
Source = Union[PathLike, Sequence[Union[PathLike, tuple[PathLike, str]]]]

_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini", "Icon\r", "__MACOSX"}
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".tbz2")
_READ_CHUNK = 1 << 20
_MAX_NAME = 200  # display names longer than this are shortened in the middle


@dataclass(frozen=True)
class Entry:
    """One file of a source, not yet read."""

    name: str  # display name, unique within the source; never used as a path
    folders: tuple[str, ...]  # folder names above the file, outermost first (class labels)
    read: Callable[[], bytes]  # its bytes; raises SkipImage, or DatasetError past the job's total cap


@dataclass
class Listing:
    """Everything known about a source before its files are read."""

    name: str  # display name of the source, e.g. "photos.zip"
    kind: str  # "folder", "zip" or "files"
    entries: list[Entry] = field(default_factory=list)  # sorted by path, deterministic
    folders: set[tuple[str, ...]] = field(default_factory=set)  # every folder seen, junk excluded
    skipped: dict[str, str] = field(default_factory=dict)  # display name -> reason, found while listing
    ignored: int = 0  # OS metadata files left out silently (__MACOSX, .DS_Store, hidden files)


@contextmanager
def open_source(source: Source, limits: Limits, budget: ByteBudget | None = None) -> Iterator[Listing]:
    """List `source`; its entries can be read (from any thread) until the context exits.

    Raises DatasetError when the source as a whole cannot be used (missing, not a zip,
    too many entries, overlapping entries, a tar file, a zip mixed with other files).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        display = clean_name(path.name or path.resolve().name or str(path))
        if path.is_dir():
            budget = budget or ByteBudget(limits.max_total_bytes, display)
            yield _list_folder(path, display, limits, budget)
            return
        if not path.exists():
            raise DatasetError(f"no such file or folder: {clean_name(str(source))}")
        items: list[tuple[Path, str]] = [(path, display)]
    elif isinstance(source, (list, tuple)):
        if not source:
            raise DatasetError("no files were given; upload images or one zip of images")
        items = [_item(s) for s in source]
        display = items[0][1] if len(items) == 1 else f"{len(items)} files"
    else:
        raise DatasetError(f"cannot read images from a {type(source).__name__}; give a folder, a zip or files")

    budget = budget or ByteBudget(limits.max_total_bytes, display)
    kinds = [_archive_kind_of(p, n) for p, n in items]
    zips = [i for i, k in zip(items, kinds) if k == "zip"]
    if len(items) == 1 and kinds[0] not in (None, "zip"):
        raise DatasetError(f"{items[0][1]}: {kinds[0]} archives are not supported; upload a .zip of images")
    if zips and len(items) > 1:
        raise DatasetError(
            f"{len(zips)} zip file(s) among {len(items)} files; upload either one zip or image files, not both"
        )
    if zips:
        with _open_zip(zips[0][0], zips[0][1], limits, budget) as listing:
            yield listing
        return
    yield _list_files(items, limits, budget)


def clean_name(name: str) -> str:
    """A printable, JSON-safe display name: invalid bytes and control characters replaced,
    very long names shortened in the middle (the extension stays visible)."""
    name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    name = "".join("?" if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") else c for c in name)
    if len(name) > _MAX_NAME:
        name = name[: _MAX_NAME // 2] + "…" + name[-(_MAX_NAME // 2 - 1):]
    return name


def name_parts(name: str) -> tuple[str, ...]:
    """Split an archive name into display-safe parts on / and \\, dropping '', '.', '..'
    and drive letters: '../../x/a.png' -> ('x', 'a.png'). For labels only, never paths."""
    parts = [clean_name(p) for p in re.split(r"[\\/]+", name)]
    return tuple(p for p in parts if p not in ("", ".", "..") and not re.fullmatch(r"[A-Za-z]:", p))


def is_junk(parts: tuple[str, ...]) -> bool:
    """OS metadata and hidden files: __MACOSX/..., ._x.png, .DS_Store, Thumbs.db, .git/..."""
    return any(p in _JUNK_NAMES or p.startswith(".") for p in parts)


class _UniqueNames:
    """Display names made unique by a ' (2)', ' (3)' suffix: zips may repeat a name."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, name: str) -> str:
        unique, k = name, 1
        while unique in self.seen:
            k += 1
            unique = f"{name} ({k})"
        self.seen.add(unique)
        return unique


# ---------------------------------------------------------------------------------- folders


def _list_folder(root: Path, display: str, limits: Limits, budget: ByteBudget) -> Listing:
    listing = Listing(name=display, kind="folder")
    found: list[tuple[tuple[str, ...], str]] = []  # (parts, os path)
    stack: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    visited = 0
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as e:
            listing.skipped["/".join(rel) or display] = f"folder cannot be read ({e.strerror or e})"
            continue
        for item in items:
            visited += 1
            if visited > limits.max_entries:
                raise DatasetError(
                    f"{display}: holds more than {limits.max_entries:,} files and folders; "
                    "use a smaller selection"
                )
            parts = rel + (clean_name(item.name),)
            if is_junk(parts):
                listing.ignored += 1
            elif item.is_symlink():
                listing.skipped["/".join(parts)] = "symbolic link: not followed"
            elif item.is_dir(follow_symlinks=False):
                listing.folders.add(parts)
                stack.append((item.path, parts))
            elif item.is_file(follow_symlinks=False):
                found.append((parts, item.path))
            else:
                listing.skipped["/".join(parts)] = "not a regular file"
    unique = _UniqueNames()
    for parts, path in sorted(found):
        listing.entries.append(Entry(unique("/".join(parts)), parts[:-1], _file_reader(path, limits, budget)))
    return listing


def _file_reader(path: str, limits: Limits, budget: ByteBudget) -> Callable[[], bytes]:
    def read() -> bytes:
        # O_NOFOLLOW: a file swapped for a link after listing is still not followed;
        # O_NONBLOCK: a FIFO cannot hang the job (it fails the S_ISREG check instead).
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except OSError as e:
            raise SkipImage(f"cannot be read ({e.strerror or e})") from None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise SkipImage("not a regular file")
            if st.st_size > limits.max_entry_bytes:
                raise SkipImage(_too_large(st.st_size, limits))
            try:
                data = f.read(limits.max_entry_bytes + 1)
            except OSError as e:
                raise SkipImage(f"cannot be read ({e.strerror or e})") from None
        if len(data) > limits.max_entry_bytes:
            raise SkipImage(_too_large(len(data), limits))
        budget.take(len(data))
        return data

    return read


def _too_large(n: int, limits: Limits) -> str:
    return f"{format_bytes(n)} is above the {format_bytes(limits.max_entry_bytes)} limit for one file"


# ------------------------------------------------------------------------------- file lists


def _item(item: PathLike | tuple[PathLike, str]) -> tuple[Path, str]:
    if isinstance(item, tuple):
        path, name = item
        return Path(path), str(name)
    return Path(item), clean_name(Path(item).name)


def _archive_kind_of(path: Path, name: str) -> str | None:
    """'zip' for a zip (by name or content, so a truncated or renamed zip says so), another
    archive kind by content or name, else None (an image or something to skip)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None  # reported when read as an entry
    kind = archive_kind(head)
    lower = name.lower()
    if kind == "zip" or lower.endswith(".zip"):
        return "zip"
    if kind is None and lower.endswith(_ARCHIVE_SUFFIXES):
        return lower.rsplit(".", 1)[-1]
    return kind


def _list_files(items: list[tuple[Path, str]], limits: Limits, budget: ByteBudget) -> Listing:
    listing = Listing(name=items[0][1] if len(items) == 1 else f"{len(items)} files", kind="files")
    if len(items) > limits.max_entries:
        raise DatasetError(f"{len(items):,} files is more than the {limits.max_entries:,} allowed; upload fewer")
    unique = _UniqueNames()
    rows = []
    for i, (path, name) in enumerate(items):
        parts = name_parts(name) or (clean_name(path.name),)
        rows.append((parts, i, path))
    for parts, _, path in sorted(rows):
        display = unique("/".join(parts))
        if is_junk(parts):
            listing.ignored += 1
            continue
        for k in range(1, len(parts)):
            listing.folders.add(parts[:k])
        if path.is_symlink():
            listing.skipped[display] = "symbolic link: not followed"
        elif path.is_dir():
            listing.skipped[display] = "a folder inside a list of files; give the folder on its own"
        else:
            listing.entries.append(Entry(display, parts[:-1], _file_reader(str(path), limits, budget)))
    return listing


# -------------------------------------------------------------------------------------- zip


@contextmanager
def _open_zip(path: Path, display: str, limits: Limits, budget: ByteBudget) -> Iterator[Listing]:
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed below; ZipFile shares it across threads
    except OSError as e:
        raise DatasetError(f"{display}: cannot be read ({e.strerror or e})") from None
    with fp:
        count_zip_entries(fp, display, limits.max_entries)
        try:
            zf = zipfile.ZipFile(fp)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error, NotImplementedError) as e:
            raise DatasetError(
                f"{display}: not a readable zip archive ({e}); it may be truncated or corrupt, "
                "create it again and re-upload"
            ) from None
        with zf:
            _check_no_overlap(zf, display)
            yield _list_zip(zf, display, limits, budget)


def count_zip_entries(fp, display: str, max_entries: int) -> int:
    """Count central-directory records without building them; DatasetError above `max_entries`.

    The declared count in the end record is checked first, then the records themselves are
    walked (46 fixed bytes + name + extra + comment each), because `zipfile` trusts the
    directory's byte size, not its count: a lying count must not let 200,000 entries in.
    """
    not_zip = DatasetError(
        f"{display}: not a valid zip archive (its end record is missing: it may be truncated, "
        "or not a zip); create the zip again and re-upload"
    )
    fp.seek(0, os.SEEK_END)
    size = fp.tell()
    tail_len = min(size, 22 + 65535)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        raise not_zip
    eocd_at = size - tail_len + pos
    declared, cd_size, cd_offset = struct.unpack("<10xHLL", tail[pos : pos + 20])
    cd_end = eocd_at
    if declared == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset):  # zip64 end records
        fp.seek(max(0, eocd_at - 20))
        locator = fp.read(20)
        if locator[:4] == b"PK\x06\x07" and eocd_at >= 76:
            fp.seek(eocd_at - 76)
            rec = fp.read(56)
            if rec[:4] == b"PK\x06\x06":
                declared, cd_size = struct.unpack("<QQ", rec[32:48])
                cd_end = eocd_at - 76
    if declared > max_entries:
        raise _too_many(display, declared, max_entries)
    cd_start = cd_end - cd_size
    if cd_start < 0:
        raise not_zip
    fp.seek(cd_start)
    count, at = 0, cd_start
    while at + 46 <= cd_end:
        head = fp.read(46)
        if len(head) < 46 or head[:4] != b"PK\x01\x02":
            break  # zipfile reports the bad record when it parses
        n, m, k = struct.unpack("<HHH", head[28:34])
        count += 1
        if count > max_entries:
            raise _too_many(display, count, max_entries, more=True)
        fp.seek(n + m + k, os.SEEK_CUR)
        at += 46 + n + m + k
    return count


def _too_many(display: str, count: int, limit: int, more: bool = False) -> DatasetError:
    what = f"more than {limit:,}" if more else f"{count:,}"
    return DatasetError(
        f"{display}: holds {what} entries, above the limit of {limit:,}; nothing was read. "
        "Upload fewer images (split the set, or use max_images after choosing a subset)"
    )


def _check_no_overlap(zf: zipfile.ZipFile, display: str) -> None:
    """Refuse archives whose entries share bytes: only zip bombs are built that way
    (D. Fifield, "A better zip bomb", 2019). The end of each entry is a lower bound
    (30-byte local header + name + compressed size), so a valid zip never fails."""
    infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
    limit = zf.start_dir
    for a, b in zip(infos, infos[1:] + [None]):
        name_len = len(a.orig_filename.encode("utf-8" if a.flag_bits & 0x800 else "cp437", "replace"))
        end = a.header_offset + 30 + name_len + a.compress_size
        if end > (b.header_offset if b is not None else limit):
            raise DatasetError(
                f"{display}: entries overlap each other, a construction only zip bombs use; "
                "nothing was read. Create the zip again with a standard tool"
            )


def _list_zip(zf: zipfile.ZipFile, display: str, limits: Limits, budget: ByteBudget) -> Listing:
    listing = Listing(name=display, kind="zip")
    unique = _UniqueNames()
    rows = sorted((name_parts(info.filename), i, info) for i, info in enumerate(zf.infolist()))
    for parts, _, info in rows:
        if not parts:
            listing.skipped[unique(clean_name(info.filename) or "(no name)")] = "entry has no file name"
            continue
        if is_junk(parts):
            listing.ignored += 1
            continue
        if info.is_dir():
            listing.folders.add(parts)
            continue
        for k in range(1, len(parts)):
            listing.folders.add(parts[:k])
        name = unique(clean_name(info.filename))
        reason = _entry_refusal(info, parts, limits)
        if reason:
            listing.skipped[name] = reason
        else:
            listing.entries.append(Entry(name, parts[:-1], _zip_reader(zf, info, limits, budget)))
    return listing


def _entry_refusal(info: zipfile.ZipInfo, parts: tuple[str, ...], limits: Limits) -> str | None:
    """Why an entry is refused from its directory record alone, before reading, or None."""
    unix_mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(unix_mode):
        return "symbolic link: not followed"
    if info.flag_bits & 0x1:
        return "encrypted (password-protected) entries are not supported; zip the images without a password"
    if parts[-1].lower().endswith(_ARCHIVE_SUFFIXES):
        return "nested archives are not supported; put the images in the top-level zip"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return (
            f"compression method {info.compress_type} is not supported; "
            "create the zip with standard (deflate) compression"
        )
    if info.file_size > limits.max_entry_bytes:
        return _too_large(info.file_size, limits)
    if _ratio_exceeded(info.file_size, info.compress_size, limits):
        return _ratio_reason(limits)
    return None


def _ratio_exceeded(inflated: int, compressed: int, limits: Limits) -> bool:
    return inflated > limits.ratio_floor_bytes and inflated > limits.max_ratio * max(1, compressed)


def _ratio_reason(limits: Limits) -> str:
    return (
        f"inflates more than {limits.max_ratio:g} times its compressed size, "
        "which only zip bombs do; refused"
    )


def _zip_reader(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: ByteBudget):
    def read() -> bytes:
        # Declared sizes are the attacker's: count what actually comes out of the inflater.
        chunks: list[bytes] = []
        n = 0
        try:
            with zf.open(info) as f:
                while chunk := f.read(_READ_CHUNK):
                    n += len(chunk)
                    budget.take(len(chunk))
                    if n > limits.max_entry_bytes:
                        raise SkipImage(f"inflates to more than the {format_bytes(limits.max_entry_bytes)} limit for one file")
                    if _ratio_exceeded(n, info.compress_size, limits):
                        raise SkipImage(_ratio_reason(limits))
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError,
                NotImplementedError, struct.error) as e:
            raise SkipImage(f"corrupt zip entry ({e}); create the zip again") from None
        return b"".join(chunks)

    return read
