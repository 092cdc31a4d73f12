"""What every tab's `build(ctx)` receives: shared services, no global state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AppContext:
    t: Any  # the app's gr.I18n: ctx.t("key") is a label that follows the browser's language
    extras: dict[str, Any] = field(default_factory=dict)  # services added by the app (models, jobs)
