"""What every tab's `build(ctx)` receives: shared services, no global state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Limits:
    """Bounds that keep one user from starving the others (see RELIABILITY.md)."""

    max_upload_mb: int = 200  # total size of one upload (zip or images)
    max_images: int = 5000  # images kept from one upload
    max_train_minutes: float = 30.0  # longest run one user may start
    max_samples: int = 64  # images per sample request
    max_video_seconds: float = 30.0
    max_video_size: int = 512
    max_video_fps: int = 60


@dataclass
class AppContext:
    t: Any  # label factory: ctx.t("key") -> a label the browser shows in its language
    tr: Any = None  # server-side messages: ctx.tr(request, "key", **fmt) -> str
    registry: Any = None  # ui.models.ModelRegistry
    jobs: Any = None  # ui.jobs.JobManager
    workspace: Any = None  # ui.workspace.Workspace
    client: Any = None  # gr.BrowserState holding this browser's client id
    limits: Limits = field(default_factory=Limits)
    shared: dict[str, Any] = field(default_factory=dict)  # components tabs hand each other
    extras: dict[str, Any] = field(default_factory=dict)
