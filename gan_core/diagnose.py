"""Plain-language alerts from a run's live signals, each with what to try.

Input: the metrics rows of metrics.jsonl (losses, D(x), D(G(z)), gradient norms, rollback
events) and the signal rows of signals.jsonl (fixed-z grid diversity, near-duplicates,
nearest-neighbour distance to the training set), as written by the run folder. Output: a
list of `Alert`s. Pure functions, no I/O; thresholds are named constants with the reason.

The failures and remedies are those the source articles teach: the discriminator winning
outright (vanishing generator gradients), mode collapse, divergence, and overfitting
(memorising the training images).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

WINDOW = 20  # recent log rows an alert looks at (100 steps at the app's log interval)
D_WINS_REAL = 0.95  # mean D(x) above this ...
D_WINS_FAKE = 0.05  # ... and D(G(z)) below this: D separates perfectly
G_GRAD_VANISHED = 0.1  # G's gradient norm fell below this fraction of its early median
COLLAPSE_DIVERSITY = 0.5  # grid diversity fell below this fraction of its peak
COLLAPSE_DUPLICATES = 0.25  # or this share of the fixed-z grid has a near-twin
EXPLODING_GRAD = 50.0  # a gradient norm this many times its running median
MEMORISED_RATIO = 0.35  # samples this close to training images, relative to how far apart training images are


@dataclass
class Alert:
    kind: str  # d_wins | collapse | divergence | memorisation
    severity: str  # "warning" or "error"
    message: str  # what is happening, in plain English (the app translates by kind)
    remedies: list[str] = field(default_factory=list)  # what to try, most effective first
    values: dict[str, float] = field(default_factory=dict)  # the numbers behind the alert
    neighbours: list[tuple[int, int]] = field(default_factory=list)  # memorisation: (sample, training index)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite(rows: list[dict], key: str) -> list[float]:
    return [r[key] for r in rows if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]


def d_wins(rows: list[dict], loss: str) -> Alert | None:
    recent = [r for r in rows if "event" not in r][-WINDOW:]
    if len(recent) < WINDOW // 2:
        return None
    d_real, d_fake = statistics.fmean(_finite(recent, "d_real")), statistics.fmean(_finite(recent, "d_fake"))
    if not (d_real > D_WINS_REAL and d_fake < D_WINS_FAKE):
        return None
    early = _finite([r for r in rows if "event" not in r][:WINDOW], "grad_norm_g")
    now = _finite(recent, "grad_norm_g")
    vanishing = bool(early and now) and statistics.median(now) < G_GRAD_VANISHED * statistics.median(early)
    remedies = []
    if loss == "minimax":
        remedies.append("switch to the non-saturating loss: minimax's generator gradient vanishes when D wins")
    remedies += ["lower D's learning rate (e.g. half of G's)", "add spectral normalisation or a gradient penalty to D",
                 "turn on DiffAugment, especially with fewer than a few thousand images",
                 "use one-sided label smoothing (0.1 to 0.2)"]
    return Alert("d_wins", "warning",
                 f"The discriminator wins outright: D(x) = {d_real:.2f}, D(G(z)) = {d_fake:.2f}"
                 + (" and the generator's gradient is vanishing" if vanishing else "")
                 + ", so the generator learns little.",
                 remedies, {"d_real": d_real, "d_fake": d_fake, "g_grad_vanishing": float(vanishing)})


def collapse(signals: list[dict]) -> Alert | None:
    """Variety the generator had and lost: diversity fell from its peak, or near-twins appeared.

    An untrained generator draws near-identical images from the start; that is not collapse,
    so near-duplicates count only once the grid had been varied (few twins) before.
    """
    if len(signals) < 3:
        return None
    div = _finite(signals, "diversity")
    dups = _finite(signals, "near_duplicates")
    dup = dups[-1] if dups else 0.0
    peak, now = max(div), div[-1]
    falling = peak > 0 and now < COLLAPSE_DIVERSITY * peak
    twins_appeared = dup > COLLAPSE_DUPLICATES and min(dups[:-1], default=1.0) < COLLAPSE_DUPLICATES / 2
    if not (falling or twins_appeared):
        return None
    return Alert("collapse", "warning",
                 f"Mode collapse: the fixed-z samples are losing variety (diversity {now:.2f}, peak {peak:.2f}; "
                 f"{dup:.0%} of them have a near-identical twin).",
                 ["switch to hinge or Wasserstein loss with a gradient penalty",
                  "add the minibatch-stddev layer or minibatch discrimination to D",
                  "add feature matching to G's loss", "lower the learning rates or raise Adam's beta2",
                  "use EMA of G and more data or DiffAugment"],
                 {"diversity": now, "peak_diversity": peak, "near_duplicates": dup})


def divergence(rows: list[dict]) -> Alert | None:
    rollbacks = [r for r in rows if r.get("event") == "rollback"]
    plain = [r for r in rows if "event" not in r]
    exploding = False
    worst = 0.0
    for key in ("grad_norm_d", "grad_norm_g"):
        values = _finite(plain, key)
        if len(values) >= 2 * WINDOW:
            base = statistics.median(values[:-WINDOW])
            worst = max(worst, max(values[-WINDOW:]) / max(base, 1e-12))
    exploding = worst > EXPLODING_GRAD
    if not rollbacks and not exploding:
        return None
    what = []
    if rollbacks:
        what.append(f"losses became NaN or infinite {len(rollbacks)} time(s) and training rolled back")
    if exploding:
        what.append(f"gradient norms jumped to {worst:.0f}x their usual size")
    return Alert("divergence", "error" if rollbacks else "warning",
                 "Training is diverging: " + "; ".join(what) + ".",
                 ["lower the learning rates (D's first)", "add a gradient penalty (WGAN-GP or R1) or spectral norm",
                  "use the hinge loss", "keep bf16 off (precision fp32) if it happens only in bf16"],
                 {"rollbacks": float(len(rollbacks)), "grad_jump": worst})


def memorisation(signals: list[dict]) -> Alert | None:
    if not signals or "nn_distance" not in signals[-1] or not signals[-1].get("train_spacing"):
        return None
    last = signals[-1]
    ratio = last["nn_distance"] / last["train_spacing"]
    if ratio >= MEMORISED_RATIO:
        return None
    return Alert("memorisation", "warning",
                 f"The generator may be copying training images: its samples are {ratio:.2f}x as far from their "
                 "nearest training image as training images are from each other.",
                 ["add more training images", "turn on DiffAugment (colour, translation, cutout)",
                  "stop earlier, or use a smaller generator", "add dropout to D"],
                 {"nn_ratio": ratio}, [tuple(p) for p in last.get("neighbours", [])])


def diagnose(rows: list[dict], signals: list[dict], loss: str = "ns") -> list[Alert]:
    """Every alert that applies to the run now, most serious first."""
    alerts = [a for a in (divergence(rows), d_wins(rows, loss), collapse(signals), memorisation(signals)) if a]
    return sorted(alerts, key=lambda a: a.severity != "error")
