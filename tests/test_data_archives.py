"""Zip uploads: RELIABILITY.md bad inputs 1-8, each with a real archive built in the test.

Archives that zipfile cannot write (lying sizes, overlapping entries, encryption flags,
symlinks, 200,000 entries, 1 GB of zeros) are assembled byte by byte by `raw_zip`.
Memory is measured as the peak RSS of a fresh subprocess.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core.config import DataConfig
from gan_core.data.ingest import load_images
from gan_core.data.limits import Limits
from gan_core.errors import DatasetError

ROOT = Path(__file__).resolve().parent.parent
CFG = DataConfig(res=16, min_size=8)
GIB = 1 << 30


def png(colour: tuple[int, int, int], size: int = 24) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(b, "PNG")
    return b.getvalue()


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def raw_entry(name: str | bytes, data: bytes, *, size: int | None = None, crc: int | None = None,
              method: int = 0, flags: int = 0, system: int = 0, ext_attr: int = 0, compressed: bool = False) -> dict:
    """One member for `raw_zip`. `data` is stored as is (already deflated when `compressed`)."""
    raw = name.encode() if isinstance(name, str) else name
    return dict(name=raw, data=data, size=len(data) if size is None else size,
                crc=zlib.crc32(data) if crc is None else crc, method=method, flags=flags,
                system=system, ext_attr=ext_attr)


def raw_zip(entries: list[dict], *, offsets: list[int] | None = None, declared_count: int | None = None) -> bytes:
    """A zip written field by field (APPNOTE 4.3.7, 4.3.12, 4.3.16); `offsets` may point
    several directory records at the same local header, `declared_count` may lie."""
    out, central = bytearray(), bytearray()
    locs = []
    for e in entries:
        locs.append(len(out))
        out += struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, e["flags"], e["method"], 0, 0x21,
                           e["crc"], len(e["data"]), e["size"], len(e["name"]), 0)
        out += e["name"] + e["data"]
    for e, off in zip(entries, offsets or locs):
        central += struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", (e["system"] << 8) | 20, 20,
                               e["flags"], e["method"], 0, 0x21, e["crc"], len(e["data"]), e["size"],
                               len(e["name"]), 0, 0, 0, 0, e["ext_attr"], off)
        central += e["name"]
    n = len(entries) if declared_count is None else declared_count
    zip64 = b""
    if n > 0xFFFF:  # zip64 end record and locator (APPNOTE 4.3.14, 4.3.15)
        at = len(out) + len(central)
        zip64 = struct.pack("<4sQHHLLQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(central), len(out))
        zip64 += struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
        n = 0xFFFF
    eocd = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, n, n, len(central), len(out), 0)
    return bytes(out + central + zip64 + eocd)


def deflated_zeros(n_mib: int) -> tuple[bytes, int]:
    """(raw deflate stream of n_mib MiB of zeros, its CRC-32), built in a few ms: after a full
    flush deflate restarts from an empty window, so one 1 MiB segment can be repeated."""
    mib = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    seg = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(n_mib):
        crc = zlib.crc32(mib, crc)
    return seg * n_mib + c.flush(), crc


def snapshot(root: Path) -> set[tuple[str, int, int]]:
    return {(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def peak_rss_mib(code: str) -> float:
    """Peak RSS of a fresh Python running `code` (after the usual imports), in MiB.

    Read from /proc/self/status VmHWM, the high-water mark of the child's own memory map:
    getrusage's ru_maxrss would include the parent's peak (Linux keeps it across exec)."""
    wrapper = (
        "from gan_core.config import DataConfig\nfrom gan_core.data.ingest import load_images\n"
        "from gan_core.data.limits import Limits\nfrom gan_core.errors import DatasetError\n"
        f"{code}\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) / 1024


def rss_increase_mib(load_code: str, tmp_path: Path) -> float:
    """Peak RSS of `load_code` minus that of loading one small valid zip, in MiB."""
    small = zip_of(tmp_path / "small.zip", {"a.png": png((1, 2, 3))})
    base = peak_rss_mib(f"load_images({str(small)!r}, DataConfig(res=16, min_size=8))")
    return peak_rss_mib(load_code) - base


# 1 ------------------------------------------------------------------------------------------


def test_traversal_and_absolute_names_are_only_names_and_nothing_is_written(tmp_path, monkeypatch):
    z = tmp_path / "evil.zip"
    z.write_bytes(raw_zip([
        raw_entry("../../app.py", png((255, 0, 0))),
        raw_entry("/etc/passwd", png((0, 255, 0))),
        raw_entry("C:\\x", png((0, 0, 255))),
        raw_entry("../../../../tmp/notes.txt", b"print('pwned')\n"),
    ]))
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)  # "../../app.py" would land in tmp_path
    before, passwd = snapshot(tmp_path), Path("/etc/passwd").stat().st_mtime_ns
    images, report = load_images(z, CFG)
    assert snapshot(tmp_path) == before
    assert Path("/etc/passwd").stat().st_mtime_ns == passwd
    assert report.images_used == 3
    assert "not a supported image" in report.skipped["../../../../tmp/notes.txt"]


# 2 ------------------------------------------------------------------------------------------


def test_symlink_entries_are_skipped_not_followed(tmp_path):
    link = raw_entry("link.png", b"/etc/passwd", system=3, ext_attr=(stat.S_IFLNK | 0o777) << 16)
    z = tmp_path / "links.zip"
    z.write_bytes(raw_zip([link, raw_entry("ok.png", png((9, 9, 9)))]))
    _, report = load_images(z, CFG)
    assert report.images_used == 1
    assert report.skipped == {"link.png": "symbolic link: not followed"}


def test_nested_zip_is_refused_by_name_and_by_content(tmp_path):
    inner = zip_of(tmp_path / "inner.zip", {"x.png": png((1, 1, 1))}).read_bytes()
    z = zip_of(tmp_path / "outer.zip", {"inner.zip": inner, "disguised.png": inner, "ok.png": png((5, 5, 5))})
    _, report = load_images(z, CFG)
    assert report.images_used == 1
    assert report.skipped["inner.zip"].startswith("nested archives are not supported")
    assert report.skipped["disguised.png"].startswith("nested archives are not supported")


# 3 ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gigabyte_of_zeros(tmp_path_factory) -> Path:
    """A real zip whose one entry, zeros.png, inflates to 1 GiB (about 1 MB on disk)."""
    stream, crc = deflated_zeros(1024)
    path = tmp_path_factory.mktemp("bomb") / "zeros.zip"
    path.write_bytes(raw_zip([raw_entry("zeros.png", stream, size=GIB, crc=crc, method=8),
                              raw_entry("ok.png", png((7, 7, 7)))]))
    return path


def test_gigabyte_of_zeros_is_stopped_by_the_per_file_cap(gigabyte_of_zeros):
    _, report = load_images(gigabyte_of_zeros, CFG)
    assert report.images_used == 1
    assert "limit for one file" in report.skipped["zeros.png"]


def test_gigabyte_of_zeros_is_stopped_by_the_ratio_cap(gigabyte_of_zeros):
    _, report = load_images(gigabyte_of_zeros, CFG, limits=Limits(max_entry_bytes=2 * GIB))
    assert "inflates more than 200 times" in report.skipped["zeros.png"]


def test_gigabyte_of_zeros_is_stopped_by_the_total_cap_counted_while_inflating(gigabyte_of_zeros):
    limits = Limits(max_entry_bytes=2 * GIB, max_ratio=1e9, max_total_bytes=32 << 20)
    with pytest.raises(DatasetError, match=r"more than 32\.0 MiB once uncompressed"):
        load_images(gigabyte_of_zeros, CFG, limits=limits)


@pytest.mark.slow
def test_gigabyte_of_zeros_keeps_memory_flat(gigabyte_of_zeros, tmp_path):
    code = (
        f"_, r = load_images({str(gigabyte_of_zeros)!r}, DataConfig(res=16, min_size=8))\n"
        "assert 'zeros.png' in r.skipped\n"
        "try:\n"
        f"    load_images({str(gigabyte_of_zeros)!r}, DataConfig(res=16, min_size=8), "
        "limits=Limits(max_entry_bytes=2 << 30, max_ratio=1e9, max_total_bytes=32 << 20))\n"
        "except DatasetError: pass\n"
    )
    assert rss_increase_mib(code, tmp_path) < 100


# 4 ------------------------------------------------------------------------------------------


def test_entry_that_inflates_far_beyond_its_declared_size_is_cut_off(tmp_path):
    stream, crc = deflated_zeros(1024)
    liar = raw_entry("small.png", stream, size=10_000, crc=crc, method=8)  # claims 10 KB, holds 1 GiB
    z = tmp_path / "liar.zip"
    z.write_bytes(raw_zip([liar, raw_entry("ok.png", png((3, 3, 3)))]))
    t0 = time.perf_counter()
    _, report = load_images(z, CFG)
    assert time.perf_counter() - t0 < 5  # 1 GiB was not inflated
    assert report.images_used == 1
    assert report.skipped["small.png"].startswith("corrupt zip entry")
    code = f"_, r = load_images({str(z)!r}, DataConfig(res=16, min_size=8))\nassert 'small.png' in r.skipped"
    assert rss_increase_mib(code, tmp_path) < 50


# 5 ------------------------------------------------------------------------------------------


def test_two_hundred_thousand_entries_are_refused_before_reading(tmp_path):
    entries = [raw_entry(f"{i:06d}.png", b"") for i in range(200_000)]
    z = tmp_path / "many.zip"
    z.write_bytes(raw_zip(entries))
    t0 = time.perf_counter()
    with pytest.raises(DatasetError, match=r"holds 200,000 entries, above the limit of 50,000; nothing was read"):
        load_images(z, CFG)
    assert time.perf_counter() - t0 < 3


def test_a_lying_entry_count_does_not_let_too_many_entries_in(tmp_path):
    entries = [raw_entry(f"{i:06d}.png", b"") for i in range(60_000)]
    z = tmp_path / "liar_count.zip"
    z.write_bytes(raw_zip(entries, declared_count=10))
    with pytest.raises(DatasetError, match="more than 50,000 entries"):
        load_images(z, CFG)


# 6 ------------------------------------------------------------------------------------------


def test_overlapping_entries_refuse_the_archive(tmp_path):
    stream, crc = deflated_zeros(8)
    kernel = raw_entry("k.png", stream, size=8 << 20, crc=crc, method=8)
    z = tmp_path / "overlap.zip"
    z.write_bytes(raw_zip([kernel, kernel], offsets=[0, 0]))  # two records, one body
    with pytest.raises(DatasetError, match="entries overlap each other"):
        load_images(z, CFG)


def test_random_bytes_named_zip_get_a_readable_message(tmp_path):
    z = tmp_path / "random.zip"
    z.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(DatasetError, match=r"random\.zip: not a valid zip archive"):
        load_images(z, CFG)


def test_truncated_zip_gets_a_readable_message(tmp_path):
    whole = zip_of(tmp_path / "whole.zip", {f"{i}.png": png((i, i, i)) for i in range(5)}).read_bytes()
    z = tmp_path / "cut.zip"
    z.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetError, match=r"cut\.zip: not a valid zip archive .*truncated"):
        load_images(z, CFG)


def test_encrypted_entries_are_skipped_with_a_reason(tmp_path):
    z = tmp_path / "secret.zip"
    z.write_bytes(raw_zip([raw_entry("locked.png", png((1, 1, 1)), flags=0x1),
                           raw_entry("open.png", png((2, 2, 2)))]))
    _, report = load_images(z, CFG)
    assert report.images_used == 1
    assert report.skipped["locked.png"].startswith("encrypted (password-protected)")


def test_all_encrypted_zip_says_why_nothing_is_usable(tmp_path):
    z = tmp_path / "secret.zip"
    z.write_bytes(raw_zip([raw_entry("locked.png", png((1, 1, 1)), flags=0x1)]))
    with pytest.raises(DatasetError, match=r"no usable images in secret\.zip: .*locked\.png: encrypted"):
        load_images(z, CFG)


def test_bzip2_entries_are_refused_since_their_output_cannot_be_bounded(tmp_path):
    z = tmp_path / "bz.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.png", png((1, 1, 1)), compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("b.png", png((2, 2, 2)))
    _, report = load_images(z, CFG)
    assert report.images_used == 1
    assert "compression method 12 is not supported" in report.skipped["a.png"]


# 7 ------------------------------------------------------------------------------------------


def test_only_macos_metadata_means_no_usable_images(tmp_path):
    z = zip_of(tmp_path / "mac.zip", {"__MACOSX/": b"", "__MACOSX/._a.png": b"\x00\x05\x16\x07",
                                      ".DS_Store": b"\x00\x00\x00\x01Bud1", "photos/.DS_Store": b"Bud1"})
    with pytest.raises(DatasetError, match=r"no usable images in mac\.zip: it holds only operating-system metadata"):
        load_images(z, CFG)


# 8 ------------------------------------------------------------------------------------------


def test_non_utf8_long_and_duplicate_names_are_fine(tmp_path):
    long_name = "x" * 1000 + ".png"
    z = tmp_path / "names.zip"
    z.write_bytes(raw_zip([
        raw_entry(b"caf\xe9/\xff\xfe.png", png((10, 0, 0))),  # not UTF-8 (flag 0x800 unset)
        raw_entry(long_name, png((20, 0, 0))),
        raw_entry("same.png", png((30, 0, 0))),
        raw_entry("same.png", png((40, 0, 0))),
        raw_entry("same.png", b"not an image"),
    ]))
    images, report = load_images(z, CFG)
    assert report.images_used == 4
    assert sorted(images.images[:, 0, 8, 8].tolist()) == [10, 20, 30, 40]
    (bad,) = report.skipped  # the third same.png, under a unique display name
    assert bad.startswith("same.png (") and len(report.skipped) == 1
    report.to_json()  # every name is JSON-safe


def test_non_utf8_file_names_in_a_folder_are_fine(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "ok.png").write_bytes(png((50, 50, 50)))
    os.makedirs(os.fsencode(folder) + b"/\xff\xfe", exist_ok=True)
    with open(os.fsencode(folder) + b"/\xff\xfe/caf\xe9.png", "wb") as f:
        f.write(png((60, 60, 60)))
    images, report = load_images(folder, CFG)
    assert report.images_used == 2
    assert '"' in report.to_json()
