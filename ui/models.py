"""Which generators a client can pick: bundled ones, its own trained runs and uploads.

Loaded generators are cached (LRU) keyed by file and modification time, so sliders and
repeated samples never reload weights, and a run that saved a newer checkpoint is picked
up on the next request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from gan_core import checkpoint
from gan_core.checkpoint import LoadedGenerator
from gan_core.device import default_device

from ui.workspace import Workspace


PREFERRED = "emoji64"  # the default model: the one people recognise at a glance


@dataclass(frozen=True)
class ModelEntry:
    key: str  # "bundled/NAME", "run/RUN", "upload/NAME": what dropdowns hold
    label: str  # shown in dropdowns
    path: Path  # the model.safetensors file
    card: Path | None = None  # README.md model card, if any


class ModelRegistry:
    def __init__(self, bundled_dir: str | Path, workspace: Workspace, cache_size: int = 6):
        self.bundled_dir = Path(bundled_dir)
        self.workspace = workspace
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, float], LoadedGenerator] = OrderedDict()
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- listing

    def bundled(self) -> list[ModelEntry]:
        out = []
        for d in sorted(self.bundled_dir.iterdir()) if self.bundled_dir.is_dir() else []:
            f = d / checkpoint.MODEL_FILE
            if f.is_file():
                card = d / "README.md"
                out.append(ModelEntry(f"bundled/{d.name}", d.name, f, card if card.is_file() else None))
        return out

    def own(self, client_id: str | None) -> list[ModelEntry]:
        if not self.workspace.valid(client_id):
            return []
        base = self.workspace.client_dir(client_id, create=False)
        out = []
        for kind in ("runs", "uploads"):
            folder = base / kind
            if not folder.is_dir():
                continue
            for d in sorted(folder.iterdir(), reverse=True):
                f = d / checkpoint.MODEL_FILE
                if f.is_file():
                    card = d / "README.md"
                    label = f"{'my run' if kind == 'runs' else 'uploaded'}: {d.name}"
                    key = f"{'run' if kind == 'runs' else 'upload'}/{d.name}"
                    out.append(ModelEntry(key, label, f, card if card.is_file() else None))
        return out

    def entries(self, client_id: str | None) -> list[ModelEntry]:
        return self.own(client_id) + self.bundled()

    def choices(self, client_id: str | None) -> list[tuple[str, str]]:
        return [(e.label, e.key) for e in self.entries(client_id)]

    def default_key(self, client_id: str | None = None) -> str | None:
        """The model the app opens on: the unconditional emoji model when bundled, else the first."""
        entries = self.bundled() or self.own(client_id)
        preferred = [e for e in entries if e.key == f"bundled/{PREFERRED}"]
        chosen = preferred or entries
        return chosen[0].key if chosen else None

    def entry(self, key: str, client_id: str | None) -> ModelEntry:
        for e in self.entries(client_id):
            if e.key == key:
                return e
        raise KeyError(key)

    # ---------------------------------------------------------------- loading

    def load(self, key: str, client_id: str | None) -> LoadedGenerator:
        """The generator behind `key` (only the client's own or bundled ones), cached."""
        entry = self.entry(key, client_id)
        stamp = (str(entry.path), entry.path.stat().st_mtime)
        with self._lock:
            if stamp in self._cache:
                self._cache.move_to_end(stamp)
                return self._cache[stamp]
        loaded = checkpoint.load_generator(entry.path, default_device())  # outside the lock: others stay fast
        with self._lock:
            self._cache[stamp] = loaded
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return loaded
