"""Image decoding: RELIABILITY.md bad inputs 9-16, with real PNG/JPEG/GIF/WEBP/BMP bytes and
hand-made PSD/EPS/PDF/FITS headers; pixel checks for orientation and colour modes."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_core.config import DataConfig
from gan_core.data.decode import SkipImage, decode_image, sniff_format
from gan_core.data.ingest import load_images
from gan_core.errors import DatasetError

ROOT = Path(__file__).resolve().parent.parent
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def raw_png(w: int, h: int, depth: int, colour_type: int, rows: bytes) -> bytes:
    """A PNG written chunk by chunk (PNG spec 11.2): for sizes and depths Pillow won't write."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows, 9))
            + png_chunk(b"IEND", b""))


def one(data: bytes, res: int = 16, **kw):
    return decode_image(data, res, min_size=kw.pop("min_size", 1), **kw)


def write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def peak_rss_mib(code: str) -> float:
    """Peak RSS (VmHWM, the child's own high-water mark; ru_maxrss would carry pytest's) in MiB."""
    wrapper = (
        "from gan_core.config import DataConfig\nfrom gan_core.data.ingest import load_images\n"
        f"{code}\nprint(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) / 1024


def rss_increase_mib(folder: Path, tmp_path: Path) -> float:
    small = write(tmp_path / "small", {"a.png": encode(Image.new("RGB", (20, 20)), "PNG")})
    load = "load_images({!r}, DataConfig(res=64))"
    return peak_rss_mib(load.format(str(folder))) - peak_rss_mib(load.format(str(small)))


# 9 ------------------------------------------------------------------------------------------


def test_fifty_thousand_square_png_of_a_few_kb_is_refused_as_a_bomb(tmp_path):
    bomb = raw_png(50_000, 50_000, 8, 0, bytes(50_001) * 40)  # header claims 2.5 gigapixels
    assert len(bomb) < 10_000
    folder = write(tmp_path / "bomb", {"bomb.png": bomb, "ok.png": encode(Image.new("RGB", (20, 20)), "PNG")})
    _, report = load_images(folder, DataConfig(res=16))
    assert report.images_used == 1
    assert "decompression bomb" in report.skipped["bomb.png"]
    assert rss_increase_mib(folder, tmp_path) < 30


def test_image_above_pillows_warning_level_is_refused_not_just_warned_about():
    data = raw_png(10_000, 9_000, 8, 0, bytes(10_001) * 10)  # 90 Mpx: Pillow only warns
    with pytest.raises(SkipImage, match=r"decompression bomb: 10000x9000 px \(90 megapixels\)"):
        one(data)


# 10 -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def huge_jpeg() -> bytes:
    img = Image.new("RGB", (9000, 9000), (200, 40, 90))
    data = encode(img, "JPEG", quality=80)
    del img
    return data


@pytest.mark.slow
def test_nine_thousand_square_jpeg_is_decoded_reduced_with_bounded_memory(huge_jpeg, tmp_path):
    t0 = time.perf_counter()
    d = one(huge_jpeg, 64)
    assert time.perf_counter() - t0 < 5
    assert d.size == (9000, 9000)
    assert np.abs(d.pixels[32, 32].astype(int) - (200, 40, 90)).max() <= 3
    folder = write(tmp_path / "huge", {"huge.jpg": huge_jpeg})
    assert rss_increase_mib(folder, tmp_path) < 80  # a full decode alone is 232 MiB


# 11 -----------------------------------------------------------------------------------------


def test_truncated_empty_and_random_files_are_skipped_and_named(tmp_path):
    photo = encode(Image.effect_noise((64, 64), 40).convert("RGB"), "JPEG")
    rng = np.random.default_rng(0)
    folder = write(tmp_path / "bad", {
        "cut.jpg": photo[: len(photo) // 2],
        "empty.png": b"",
        "noise.png": rng.integers(0, 256, 4000, dtype=np.uint8).tobytes(),
        "fine.jpg": photo,
    })
    _, report = load_images(folder, DataConfig(res=16))
    assert report.images_used == 1
    assert report.skipped["cut.jpg"].startswith("truncated or corrupt JPEG")
    assert report.skipped["empty.png"] == "empty file (0 bytes)"
    assert report.skipped["noise.png"].startswith("not a supported image")


def test_png_with_a_valid_signature_but_broken_body_is_skipped():
    broken = raw_png(32, 32, 8, 2, bytes(32 * 97))[:60]
    with pytest.raises(SkipImage, match="PNG"):
        one(broken)


# 12 -----------------------------------------------------------------------------------------


def psd_bytes() -> bytes:
    """A minimal valid 2x2 RGB Photoshop file (Adobe PSD spec: header, 3 empty sections, raw data)."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 2, 2, 8, 3)
    return header + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + bytes([255] * 4 + [0] * 8)


def fits_bytes() -> bytes:
    """A minimal FITS primary HDU: 80-character cards padded to 2880 bytes, then 16x16 bytes."""
    cards = ["SIMPLE  =                    T", "BITPIX  =                    8", "NAXIS   =                    2",
             "NAXIS1  =                   16", "NAXIS2  =                   16", "END"]
    head = "".join(c.ljust(80) for c in cards).ljust(2880).encode()
    return head + bytes(256).ljust(2880, b"\0")


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\nnewpath 0 0 moveto 16 16 lineto stroke\n%%EOF\n"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.mark.parametrize("data, name", [(psd_bytes(), "PSD"), (EPS, "EPS"), (PDF, "PDF"), (fits_bytes(), "FITS")])
def test_psd_eps_pdf_fits_renamed_jpg_are_refused_by_the_allowlist(tmp_path, data, name):
    folder = write(tmp_path / name, {"photo.jpg": data, "ok.png": encode(Image.new("RGB", (20, 20)), "PNG")})
    _, report = load_images(folder, DataConfig(res=16))
    assert report.images_used == 1
    assert name in report.skipped["photo.jpg"] and "not supported" in report.skipped["photo.jpg"]


def test_pillow_could_open_the_psd_so_the_allowlist_is_what_refuses_it():
    assert Image.open(io.BytesIO(psd_bytes())).size == (2, 2)
    assert sniff_format(psd_bytes()[:16]) is None


# 13 -----------------------------------------------------------------------------------------


def quadrants(w: int, h: int) -> Image.Image:
    """Upright test card: red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2], a[: h // 2, w // 2 :] = RED, GREEN
    a[h // 2 :, : w // 2], a[h // 2 :, w // 2 :] = BLUE, YELLOW
    return Image.fromarray(a)


# stored pixels = the upright card turned the opposite way to what the tag asks a viewer to do
STORE = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", [3, 6, 8])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_comes_out_upright(orientation, fmt):
    upright = quadrants(640, 480)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(upright.transpose(STORE[orientation]), fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    d = one(data, 32)  # 480 px -> 32 px: the JPEG is decoded at 1/4 scale (draft) before turning
    assert d.size == (640, 480)
    for (y, x), colour in {(4, 4): RED, (4, 27): GREEN, (27, 4): BLUE, (27, 27): YELLOW}.items():
        assert np.abs(d.pixels[y, x].astype(int) - colour).max() < 40, (y, x, d.pixels[y, x])


# 14 -----------------------------------------------------------------------------------------


def test_palette_transparency_is_composited_on_white():
    img = Image.new("P", (32, 32), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (16, 0, 32, 32))  # right half red, left half index 0 (transparent black)
    for fmt in ("PNG", "GIF"):
        d = one(encode(img, fmt, transparency=0))
        assert tuple(d.pixels[8, 2]) == (255, 255, 255), fmt
        assert tuple(d.pixels[8, 13]) == RED, fmt


def test_rgba_half_transparent_blue_becomes_light_blue():
    d = one(encode(Image.new("RGBA", (20, 20), (0, 0, 255, 128)), "PNG"))
    assert np.abs(d.pixels[8, 8].astype(int) - (127, 127, 255)).max() <= 1


def test_la_transparent_pixels_become_white_and_stay_grayscale():
    a = np.zeros((20, 20, 2), np.uint8)
    a[:, 10:] = (100, 255)  # right half opaque gray 100, left half fully transparent black
    d = one(encode(Image.fromarray(a, "LA"), "PNG"))
    assert d.gray and d.pixels.ndim == 2
    assert d.pixels[8, 1] == 255 and d.pixels[8, 14] == 100


def test_one_bit_image_becomes_black_and_white_gray():
    img = Image.new("1", (20, 20), 0)
    img.paste(1, (10, 0, 20, 20))
    d = one(encode(img, "PNG"))
    assert d.gray and d.pixels[8, 2] == 0 and d.pixels[8, 13] == 255


def test_cmyk_jpeg_becomes_the_right_rgb():
    d = one(encode(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG", quality=95))
    assert np.abs(d.pixels[8, 8].astype(int) - RED).max() < 8


def test_sixteen_bit_gray_is_scaled_not_clipped():
    a = np.full((20, 20), 128 * 257, np.uint16)  # mid gray in 16 bits
    d = one(encode(Image.fromarray(a), "PNG"))
    assert d.gray and d.pixels[8, 8] == 128  # clipping would give 255


def test_sixteen_bit_rgb_keeps_its_colour():
    rows = b"".join(b"\x00" + struct.pack(">HHH", 65535, 128 * 257, 0) * 20 for _ in range(20))
    d = one(raw_png(20, 20, 16, 2, rows))
    assert tuple(d.pixels[8, 8]) == (255, 128, 0)


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "GIF"])
def test_other_allowed_formats_decode_to_the_right_colour(fmt):
    d = one(encode(Image.new("RGB", (24, 24), (0, 200, 0)), fmt, **({"lossless": True} if fmt == "WEBP" else {})))
    assert np.abs(d.pixels[8, 8].astype(int) - (0, 200, 0)).max() <= 4


# 15 -----------------------------------------------------------------------------------------


def test_animated_gif_with_thousands_of_frames_gives_its_first_frame_quickly():
    frames = [Image.new("P", (16, 16), i % 2) for i in range(3000)]
    for f in frames:
        f.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)
    assert Image.open(io.BytesIO(data)).n_frames == 3000
    t0 = time.perf_counter()
    d = one(data)
    assert time.perf_counter() - t0 < 0.2
    assert tuple(d.pixels[8, 8]) == RED


def test_animated_webp_gives_its_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, BLUE, GREEN)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert np.abs(one(data).pixels[8, 8].astype(int) - RED).max() <= 4


# 16 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1, 1), (10_000, 1)])
def test_tiny_or_one_pixel_high_images_are_refused_with_the_minimum(size):
    data = encode(Image.new("L", size), "PNG")
    with pytest.raises(SkipImage, match=rf"too small: {size[0]}x{size[1]} px; images need at least 16 px on each side"):
        decode_image(data, 16, min_size=16)


def test_elongated_images_are_refused_with_the_aspect_limit():
    data = encode(Image.new("L", (1000, 50)), "PNG")
    with pytest.raises(SkipImage, match=r"too elongated: 1000x50 px is 20\.0:1; the limit is 8:1"):
        decode_image(data, 16, max_aspect=8.0)


def test_a_set_of_only_tiny_images_names_the_minimum_size(tmp_path):
    folder = write(tmp_path / "tiny", {"dot.png": encode(Image.new("L", (1, 1)), "PNG")})
    with pytest.raises(DatasetError, match=r"dot\.png: too small: 1x1 px; images need at least 16 px"):
        load_images(folder, DataConfig(res=16))


# geometry -----------------------------------------------------------------------------------


def test_crop_takes_the_centre_square_and_pad_adds_white_bars():
    a = np.zeros((40, 80, 3), np.uint8)
    a[:, :20], a[:, 20:60], a[:, 60:] = RED, GREEN, BLUE
    data = encode(Image.fromarray(a), "PNG")
    crop = one(data, 16, fit="crop")  # (Lanczos' support reaches past the box: skip the edge columns)
    assert (np.abs(crop.pixels[:, 1:-1].astype(int) - GREEN).max(axis=-1) < 10).all()
    pad = one(data, 16, fit="pad")
    assert (pad.pixels[:3] == 255).all() and (pad.pixels[-3:] == 255).all()  # bars above and below
    assert np.abs(pad.pixels[8, 1].astype(int) - RED).max() <= 3
    assert np.abs(pad.pixels[8, 14].astype(int) - BLUE).max() <= 3


def test_draft_decoding_matches_a_full_decode_closely():
    rng = np.random.default_rng(0)
    smooth = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((1024, 768), Image.BICUBIC)
    data = encode(smooth, "JPEG", quality=95)
    fast = one(data, 64).pixels.astype(float)
    full = np.asarray(smooth.resize((64, 64), Image.LANCZOS, box=(128, 0, 896, 768))).astype(float)
    assert np.abs(fast - full).mean() < 2.0


@pytest.mark.parametrize("fmt, kw", [("PNG", {}), ("JPEG", {"progressive": True}), ("JPEG", {}), ("GIF", {}),
                                     ("BMP", {}), ("WEBP", {"lossless": True}), ("WEBP", {"quality": 50}),
                                     ("WEBP", {"exif": b"Exif\x00\x00"})])
def test_header_size_read_by_hand_agrees_with_pillow(fmt, kw):
    from gan_core.data.decode import header_size

    data = encode(Image.new("RGB", (123, 45), (9, 99, 199)), fmt, **kw)
    assert header_size(data, fmt) == (123, 45) == Image.open(io.BytesIO(data)).size
