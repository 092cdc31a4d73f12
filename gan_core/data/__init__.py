"""Image sets: safe ingestion of folders, file lists and zips; built-in example sets."""

from gan_core.data.imageset import ImageSet

__all__ = ["ImageSet"]

# Ingestion, imported on first use so `import gan_core.data` stays cheap (no Pillow).
_LAZY = {
    "load_images": "gan_core.data.ingest",
    "DatasetReport": "gan_core.data.report",
    "Limits": "gan_core.data.limits",
}
__all__ += list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gan_core.data' has no attribute {name!r}")
