"""Image sets: safe ingestion of folders, file lists and zips; built-in example sets."""

from gan_core.data.imageset import ImageSet

__all__ = ["ImageSet"]
