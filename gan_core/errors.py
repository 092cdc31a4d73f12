"""Errors a user can cause and fix. Their messages name the file or field and say what to do."""


class GanStudioError(Exception):
    """Base of every error whose message is meant for the user, not a traceback."""


class DatasetError(GanStudioError):
    """An image set cannot be used (nothing decodable, too many files, a bad archive)."""


class CheckpointError(GanStudioError):
    """A checkpoint is missing, malformed, unsafe or does not match its config."""


class TrainingError(GanStudioError):
    """A run cannot start or had to stop (repeated divergence, bad resume folder)."""
