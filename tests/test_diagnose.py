"""Each alert fires on a run that has its failure and stays silent on a healthy one."""

import json

import numpy as np

from conftest import tiny_model, tiny_train
from gan_core.data.imageset import ImageSet
from gan_core.diagnose import diagnose
from gan_core.train import Trainer
from gan_core.train.run_folder import RunFolder


def run_rows(n=200, d_real=0.6, d_fake=0.4, g_grad=2.0, d_grad=1.0, seed=0, tail=None):
    """Metrics rows as metrics.jsonl holds them; `tail` overrides the last 40 rows' values."""
    rng = np.random.default_rng(seed)
    rows = []
    for step in range(1, n + 1):
        r = {"step": step * 5, "loss_d": 1.2 + 0.1 * rng.standard_normal(), "loss_g": 0.9,
             "d_real": d_real + 0.05 * rng.standard_normal(), "d_fake": d_fake + 0.05 * rng.standard_normal(),
             "grad_norm_g": g_grad * (1 + 0.1 * rng.standard_normal()), "grad_norm_d": d_grad * (1 + 0.1 * rng.standard_normal())}
        if tail and step > n - 40:
            r.update(tail)
        rows.append(r)
    return rows


def signal_rows(diversity=(0.4,) * 10, dup=0.0, nn=0.2, spacing=0.25):
    return [{"step": 25 * i, "diversity": d, "near_duplicates": dup, "nn_distance": nn, "train_spacing": spacing,
             "neighbours": [[0, 3]]} for i, d in enumerate(diversity)]


def kinds(alerts):
    return [a.kind for a in alerts]


def test_a_healthy_run_raises_no_alert():
    assert diagnose(run_rows(), signal_rows()) == []


def test_discriminator_winning_outright_is_reported_with_remedies():
    rows = run_rows(tail={"d_real": 0.995, "d_fake": 0.004, "grad_norm_g": 0.01})
    (alert,) = diagnose(rows, signal_rows(), loss="minimax")
    assert alert.kind == "d_wins" and alert.values["g_grad_vanishing"] == 1.0
    assert "non-saturating" in alert.remedies[0]
    assert any("learning rate" in r for r in alert.remedies)


def test_mode_collapse_is_reported_when_grid_diversity_falls():
    falling = signal_rows(diversity=(0.40, 0.42, 0.41, 0.30, 0.20, 0.12))
    assert kinds(diagnose(run_rows(), falling)) == ["collapse"]


def test_mode_collapse_is_reported_when_near_duplicates_appear():
    rows = signal_rows()
    rows[-1]["near_duplicates"] = 0.6
    assert kinds(diagnose(run_rows(), rows)) == ["collapse"]


def test_an_untrained_generator_with_alike_samples_from_the_start_is_not_collapse():
    assert diagnose(run_rows(), signal_rows(dup=1.0)) == []


def test_divergence_is_reported_on_rollbacks_and_exploding_gradients():
    rows = run_rows() + [{"event": "rollback", "step": 1001, "to_step": 950, "reason": "non-finite loss_d"}]
    (alert,) = diagnose(rows, signal_rows())
    assert alert.kind == "divergence" and alert.severity == "error"
    spike = run_rows(tail={"grad_norm_d": 5000.0})
    assert kinds(diagnose(spike, signal_rows())) == ["divergence"]


def test_memorisation_is_reported_with_nearest_neighbours():
    (alert,) = diagnose(run_rows(), signal_rows(nn=0.01, spacing=0.25))
    assert alert.kind == "memorisation" and alert.neighbours == [(0, 3)]


def test_a_real_run_writes_the_signals_diagnosis_reads(tmp_path):
    rng = np.random.default_rng(0)
    varied = ImageSet(rng.integers(0, 256, (64, 1, 16, 16), dtype=np.uint8), np.zeros(64, dtype=np.int64))
    t = Trainer(tiny_model(d_norm="none"), tiny_train(steps=10), varied,
                callbacks=[RunFolder(tmp_path, weight_stats=True)])
    list(t.run())
    signals = [json.loads(l) for l in (tmp_path / "signals.jsonl").read_text().splitlines()]
    assert [s["step"] for s in signals] == [0, 5, 10]
    assert {"diversity", "near_duplicates", "nn_distance", "train_spacing", "neighbours"} <= signals[-1].keys()
    assert (tmp_path / "neighbours.png").is_file() and (tmp_path / "weights.json").is_file()
    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(a.kind in ("d_wins", "collapse", "divergence", "memorisation") for a in diagnose(rows, signals))
