"""`python -m gan_core inspect` end to end, as a user runs it: a real subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def inspect(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "gan_core", "inspect", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def png(colour) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(b, "PNG")
    return b.getvalue()


FILES = {"set/cat/a.png": png((255, 0, 0)), "set/cat/b.png": png((250, 0, 0)),
         "set/dog/c.png": png((0, 0, 255)), "set/dog/readme.txt": b"hello"}


def test_inspect_a_folder_prints_the_report_and_exits_zero(tmp_path):
    for name, data in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    proc = inspect(str(tmp_path / "set"), "--res", "32")
    assert proc.returncode == 0, proc.stderr
    assert "images used: 3 (tensor 3 x 3 x 32 x 32" in proc.stdout
    assert "cat: 2" in proc.stdout and "dog/readme.txt: not a supported image" in proc.stdout


def test_inspect_a_zip_as_json(tmp_path):
    z = tmp_path / "pets.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for name, data in FILES.items():
            zf.writestr(name, data)
    proc = inspect(str(z), "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["images_used"] == 3 and d["classes"] == {"cat": 2, "dog": 1}
    assert d["skipped"] == {"set/dog/readme.txt": "not a supported image (the content is not PNG, JPEG, WEBP, GIF or BMP)"}


def test_inspect_a_junk_only_zip_fails_with_a_clear_message_and_no_traceback(tmp_path):
    z = tmp_path / "junk.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("notes.txt", b"not an image")
        zf.writestr("__MACOSX/._notes.txt", b"\x00\x05\x16\x07")
        zf.writestr("fake.jpg", b"\xff\xd8\xff\xe0 truncated")
    proc = inspect(str(z))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith("error: no usable images in junk.zip: every file was skipped (")
    assert "Upload PNG, JPEG, WEBP, GIF or BMP images" in proc.stderr
    as_json = inspect(str(z), "--json")
    assert as_json.returncode == 1
    d = json.loads(as_json.stdout)
    assert d["usable"] is False and d["images_used"] == 0 and set(d["skipped"]) == {"fake.jpg", "notes.txt"}


def test_inspect_a_missing_path_and_a_random_zip_fail_cleanly(tmp_path):
    missing = inspect(str(tmp_path / "nope.zip"))
    assert missing.returncode == 1 and missing.stderr.startswith("error: no such file or folder")
    z = tmp_path / "random.zip"
    z.write_bytes(os.urandom(3000))
    bad = inspect(str(z))
    assert bad.returncode == 1 and "not a valid zip archive" in bad.stderr and "Traceback" not in bad.stderr
