"""ToySession: A/B runs on the same data and seed, live switches, user points, bounded work."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from gan_core.errors import DatasetError
from gan_core.toy.config import ToyConfig
from gan_core.toy.render import ViewOptions
from gan_core.device import torch_threads
from gan_core.toy.session import ToySession

SMALL = ToyConfig(batch=32, layers=2, width=16)


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def test_a_and_b_start_from_the_same_weights_and_see_the_same_data():
    s = ToySession()
    s.sync({"A": SMALL.replace(loss="minimax"), "B": SMALL.replace(loss="ns")})
    a, b = s.runs["A"], s.runs["B"]
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))
    np.testing.assert_array_equal(a._real(16).numpy(), b._real(16).numpy())


def test_a_and_b_diverge_when_their_settings_differ():
    s = ToySession()
    s.sync({"A": SMALL.replace(loss="minimax"), "B": SMALL.replace(loss="ns")})
    s.advance(5, 100)
    assert not torch.equal(next(s.runs["A"].G.parameters()), next(s.runs["B"].G.parameters()))


def test_live_changes_keep_the_run_and_structural_changes_rebuild_it():
    s = ToySession()
    s.sync({"A": SMALL})
    s.advance(3, 100)
    run = s.runs["A"]
    assert s.sync({"A": SMALL.replace(loss="hinge", lr_d=2e-3, d_steps=2)}) == []
    assert s.runs["A"] is run and run.step_count == 3 and run.cfg.loss == "hinge"
    assert s.sync({"A": SMALL.replace(loss="hinge", width=24)}) == ["A"]
    assert s.runs["A"].step_count == 0


def test_turning_compare_off_drops_run_b():
    s = ToySession()
    s.sync({"A": SMALL, "B": SMALL})
    s.sync({"A": SMALL})
    assert list(s.runs) == ["A"]


def test_editing_custom_points_restarts_custom_runs_on_the_new_points():
    s = ToySession()
    s.add_point(0.0, 0.0)
    s.add_point(1.0, 1.0)
    cfg = SMALL.replace(dist="custom")
    s.sync({"A": cfg})
    assert s.runs["A"].dist.centers.shape == (2, 2)
    s.advance(2, 100)
    s.add_point(-1.0, 2.0)
    assert s.sync({"A": cfg}) == ["A"]
    assert s.runs["A"].dist.centers.shape == (3, 2)
    s.undo_point()
    s.sync({"A": cfg})
    assert s.runs["A"].dist.centers.shape == (2, 2)


def test_csv_points_are_centred_and_scaled_into_the_canvas():
    s = ToySession()
    s.set_points(np.array([[1000.0, 0.0], [3000.0, 0.0], [2000.0, 500.0]]))
    assert np.abs(s.points).max() == pytest.approx(2.0)
    s.clear_points()
    assert len(s.points) == 0
    with pytest.raises(DatasetError):
        s.distribution("custom")


def test_advance_stops_every_run_at_the_cap():
    s = ToySession()
    s.sync({"A": SMALL, "B": SMALL.replace(loss="lsgan")})
    assert s.advance(4, 6) is False
    assert s.advance(4, 6) is True
    assert [r.step_count for r in s.runs.values()] == [6, 6]


def test_reset_starts_the_runs_again_from_step_0():
    s = ToySession()
    s.sync({"A": SMALL})
    s.advance(3, 100)
    s.reset()
    s.sync({"A": SMALL})
    assert s.runs["A"].step_count == 0


def test_snapshot_gives_frame_curves_step_and_coverage():
    s = ToySession()
    s.sync({"A": SMALL})
    s.advance(3, 100)
    snap = s.snapshot("A", ViewOptions(size=96), curve_size=(120, 60))
    assert snap["view"].shape == (96, 96, 3) and snap["curves"].shape == (60, 120, 3)
    assert snap["step"] == 3 and snap["coverage"]["num_modes"] == 8


def test_torch_threads_sets_the_count_inside_the_block_and_restores_it_after():
    seen = []

    def worker():
        before = torch.get_num_threads()
        with torch_threads(1):
            seen.append(torch.get_num_threads())
        seen.append(torch.get_num_threads() == before)

    th = threading.Thread(target=worker)  # a fresh thread, as gradio's workers are
    th.start()
    th.join()
    assert seen == [1, True]
