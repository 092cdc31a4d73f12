"""Per-client folders on disk, with a time-to-live sweep.

A client is one browser (its id lives in the browser's localStorage, so a reload finds the
same runs again). Every file the app writes for a client lives under its own folder;
names inside come from the app, never from uploads. Folders of clients not seen for
`ttl_s` seconds, with no job running, are removed by `sweep`.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

CLIENT_ID_RE = re.compile(r"^[0-9a-f]{32}$")
SEEN_FILE = ".last_seen"


class Workspace:
    def __init__(self, root: str | Path, ttl_s: float = 6 * 3600):
        self.root = Path(root)
        self.ttl_s = ttl_s
        (self.root / "clients").mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_client_id() -> str:
        return secrets.token_hex(16)

    @staticmethod
    def valid(client_id: object) -> bool:
        return isinstance(client_id, str) and bool(CLIENT_ID_RE.match(client_id))

    def client_dir(self, client_id: str, create: bool = True) -> Path:
        if not self.valid(client_id):  # the id becomes a folder name: only 32 hex digits pass
            raise ValueError("invalid client id")
        d = self.root / "clients" / client_id
        if create:
            d.mkdir(parents=True, exist_ok=True)
            (d / SEEN_FILE).touch()
        return d

    def sub(self, client_id: str, name: str) -> Path:
        d = self.client_dir(client_id) / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def new_run_dir(self, client_id: str) -> Path:
        runs = self.sub(client_id, "runs")
        name = time.strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        return runs / name

    def scratch(self, client_id: str) -> Path:
        """A folder for files handed to the browser (grids, videos); emptied by `clean_scratch`."""
        return self.sub(client_id, "scratch")

    def clean_scratch(self, client_id: str, keep_s: float = 600) -> None:
        now = time.time()
        for p in self.scratch(client_id).iterdir():
            if now - p.stat().st_mtime > keep_s:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)

    def sweep(self, busy: set[str] = frozenset(), now: float | None = None) -> list[str]:
        """Remove the folders of clients idle for longer than the TTL; returns their ids."""
        now = time.time() if now is None else now
        removed = []
        for d in (self.root / "clients").iterdir():
            if d.name in busy or not self.valid(d.name):
                continue
            seen = d / SEEN_FILE
            last = seen.stat().st_mtime if seen.exists() else d.stat().st_mtime
            if now - last > self.ttl_s:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d.name)
        return removed
