"""The Playground tab's handlers called directly: validation, CSV upload, ticks, presets, strings."""

from __future__ import annotations

import re

import gradio as gr
import pytest

from gan_core.toy.config import ToyConfig
from gan_core.toy.session import ToySession
from ui import playground as pg

D = ToyConfig()


def _args(compare: bool = False, dist: str = "ring8", speed: int = 2, **run_a) -> tuple:
    """The handler inputs after the state, in the tab's order (shared, run A, run B)."""
    shared = dict(dist=dist, batch=64, layers=2, width=16, nz=2, seed=0, compare=compare, speed=speed, slow=False)
    a = {f: getattr(D, f) for f in pg.RUN_FIELDS} | run_a
    b = {f: getattr(D, f) for f in pg.RUN_FIELDS} | {"loss": "minimax"}
    return (*[shared[f] for f in pg.SHARED_FIELDS], *[a[f] for f in pg.RUN_FIELDS], *[b[f] for f in pg.RUN_FIELDS])


def test_a_tick_trains_a_bounded_number_of_steps_and_returns_every_output():
    out = pg.tick(None, *_args(speed=3))
    sess = out[0]
    assert isinstance(sess, ToySession) and sess.runs["A"].step_count == 3
    assert len(out) == 12  # state, 5 outputs per run, timer
    assert out[1].startswith('<img src="data:image/jpeg;base64,') and out[3] == "3"
    assert re.fullmatch(r"\d / 8", out[4]) and out[5].endswith("%")
    pg.tick(sess, *_args(speed=10_000))
    assert sess.runs["A"].step_count == 3 + pg.MAX_STEPS_PER_FRAME


def test_compare_mode_trains_b_beside_a_on_the_same_seed():
    sess = pg.tick(None, *_args(compare=True))[0]
    assert set(sess.runs) == {"A", "B"} and sess.runs["B"].cfg.loss == "minimax"
    assert sess.runs["A"].step_count == sess.runs["B"].step_count == 2


def test_ticking_compare_after_a_played_a_starts_both_runs_level():
    sess = pg.tick(None, *_args(speed=5))[0]
    assert sess.runs["A"].step_count == 5
    out = pg.compare_toggled(sess, *_args(compare=True))
    assert sess.runs["A"].step_count == sess.runs["B"].step_count == 0
    assert out[3] == out[8] == "0"  # both step counters on the page
    pg.tick(sess, *_args(compare=True, speed=3))
    assert sess.runs["A"].step_count == sess.runs["B"].step_count == 3
    pg.compare_toggled(sess, *_args(compare=False))  # unticking keeps A where it is
    assert sess.runs["A"].step_count == 3


def test_switching_the_loss_keeps_the_run_going():
    sess = pg.tick(None, *_args())[0]
    pg.refresh(sess, *_args(loss="hinge"))
    assert sess.runs["A"].step_count == 2 and sess.runs["A"].cfg.loss == "hinge"


def test_out_of_range_values_from_a_crafted_request_are_a_readable_error():
    with pytest.raises(gr.Error, match="lr_d"):
        pg.tick(None, *_args(lr_d=-1.0))
    with pytest.raises(gr.Error, match="at most 10"):
        pg.tick(None, *_args(d_steps=50))


def test_custom_without_points_warns_and_stops_playing_instead_of_failing():
    with pytest.warns(UserWarning, match="Add points first"):  # gr.Warning outside a request
        out = pg.tick(None, *_args(dist="custom"))
    assert out[-1] == gr.update(active=False)


def test_a_csv_upload_sets_the_points_and_a_bad_one_names_the_file_escaped(tmp_path):
    good = tmp_path / "pts.csv"
    good.write_text("x,y\n0,0\n4,0\n0,4\n")
    sess, canvas = pg._load_csv(None, str(good))
    assert sess.points.shape == (3, 2) and canvas.shape == (pg.CANVAS_SIZE, pg.CANVAS_SIZE, 3)
    bad = tmp_path / "<b>x<i>.csv"
    bad.write_text("1,2\n3,four\n")
    with pytest.raises(gr.Error) as e:
        pg._load_csv(None, str(bad))
    assert "&lt;b&gt;x&lt;i&gt;.csv line 2" in str(e.value.message)


def test_presets_fill_both_runs_with_valid_settings():
    for name in pg.PRESETS:
        values = pg._apply_preset(name)
        n = len(pg.RUN_FIELDS)
        a, b = dict(zip(pg.RUN_FIELDS, values[:n])), dict(zip(pg.RUN_FIELDS, values[n:]))
        assert a != b
        ToyConfig.from_dict(a)
        ToyConfig.from_dict(b)


def test_every_string_exists_in_english_and_chinese():
    en, zh = pg.STRINGS["en"], pg.STRINGS["zh-CN"]
    assert set(en) == set(zh) and all(k.startswith("playground.") for k in en)
    assert all(zh[k] and zh[k] != en[k] for k in en if k not in ("playground.loss.wgan",))
    for kind in pg.LOSS_CHOICES:
        assert f"playground.eq.{kind}" in en and f"playground.loss.{kind}" in en
    for kind in pg.PENALTY_CHOICES:
        assert f"playground.peq.{kind}" in en and f"playground.penalty.{kind}" in en
