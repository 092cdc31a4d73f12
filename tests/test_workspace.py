"""Per-browser folders: ids are validated before they become paths; idle ones expire."""

import os
import time

import pytest

from ui.workspace import Workspace


def test_client_ids_must_be_32_hex_digits(tmp_path):
    ws = Workspace(tmp_path)
    for bad in ("../../etc", "a" * 31, "A" * 32, "", None, 123, "a" * 31 + "/"):
        with pytest.raises(ValueError):
            ws.client_dir(bad)
    assert ws.client_dir("a" * 32).parent == tmp_path / "clients"
    assert Workspace.valid(Workspace.new_client_id())


def test_idle_clients_are_swept_but_busy_ones_are_kept(tmp_path):
    ws = Workspace(tmp_path, ttl_s=60)
    for cid in ("a" * 32, "b" * 32, "c" * 32):
        (ws.sub(cid, "runs") / "x").write_text("data")
    old = time.time() - 120
    for cid in ("a" * 32, "b" * 32):
        os.utime(ws.client_dir(cid, create=False) / ".last_seen", (old, old))
    assert ws.sweep(busy={"b" * 32}) == ["a" * 32]
    assert not (tmp_path / "clients" / ("a" * 32)).exists()
    assert (tmp_path / "clients" / ("b" * 32)).exists() and (tmp_path / "clients" / ("c" * 32)).exists()


def test_scratch_files_older_than_the_limit_are_removed(tmp_path):
    ws = Workspace(tmp_path)
    cid = "d" * 32
    old_file, new_file = ws.scratch(cid) / "old.mp4", ws.scratch(cid) / "new.mp4"
    old_file.write_bytes(b"x")
    new_file.write_bytes(b"y")
    past = time.time() - 3600
    os.utime(old_file, (past, past))
    ws.clean_scratch(cid, keep_s=600)
    assert not old_file.exists() and new_file.exists()
