"""Exact resume, the run folder, and the one checkpoint loader that refuses anything unsafe."""

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from conftest import tiny_model, tiny_train
from gan_core import checkpoint
from gan_core.config import RunConfig
from gan_core.errors import CheckpointError
from gan_core.models import build_models
from gan_core.train import Trainer
from gan_core.train.run_folder import RunFolder


def assert_same_state(a: Trainer, b: Trainer):
    sa, sb = a.state_tensors(), b.state_tensors()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), f"{k} differs"


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_resume_is_exact(tmp_path, two_modes, precision):
    cfg = dict(steps=12, ema=0.9, diffaug="color,translation,cutout", hflip=True, precision=precision)
    model = tiny_model(d_dropout=0.2)
    straight = Trainer(model, tiny_train(**cfg), two_modes)
    list(straight.run())

    first = Trainer(model, tiny_train(**cfg), two_modes, callbacks=[RunFolder(tmp_path)])
    list(first.run(steps=6))  # the final checkpoint is written on stop
    tensors, meta = checkpoint.load_training_state(tmp_path)
    resumed = Trainer(model, tiny_train(**cfg), two_modes)
    resumed.restore(tensors, meta)
    assert resumed.step == 6
    list(resumed.run())
    assert resumed.step == 12
    assert_same_state(straight, resumed)


def _resume(run_dir, cfg, data, steps=None) -> Trainer:
    tensors, meta = checkpoint.load_training_state(run_dir)
    t = Trainer(tiny_model(), cfg, data, callbacks=[RunFolder(run_dir)])
    t.restore(tensors, meta)
    list(t.run(steps=steps))
    return t


def test_resuming_an_older_checkpoint_forgets_the_steps_after_it(tmp_path, two_modes):
    """A run killed between checkpoints went on past its last one; resuming replays those steps once."""
    cfg = tiny_train(steps=10, ema=0.9, sample_every=2, ckpt_every=100)
    straight = tmp_path / "straight"
    list(Trainer(tiny_model(), cfg, two_modes, callbacks=[RunFolder(straight)]).run())

    run = tmp_path / "run"
    list(Trainer(tiny_model(), cfg, two_modes, callbacks=[RunFolder(run)]).run(steps=5))
    at_5 = (run / "training_state.safetensors").read_bytes()
    _resume(run, cfg, two_modes, steps=9)  # trains on to step 9 ...
    (run / "training_state.safetensors").write_bytes(at_5)  # ... and is killed: the last checkpoint is step 5
    assert (run / "samples" / "grid_0000008.png").exists()
    _resume(run, cfg, two_modes)

    def records(folder):
        return [{k: v for k, v in json.loads(line).items() if k not in ("images_per_s", "elapsed", "eta")}
                for line in (folder / "metrics.jsonl").read_text().splitlines()]

    assert [r["step"] for r in records(run)] == list(range(1, 11))
    assert records(run) == records(straight)  # exact resume, each step once
    grids = sorted(p.name for p in (run / "samples").glob("grid_*.png"))
    assert grids == [f"grid_{s:07d}.png" for s in (0, 2, 4, 5, 6, 8, 10)]  # 5: where the first sitting stopped


def test_run_folder_has_the_hub_layout_and_loads(tmp_path, two_modes):
    t = Trainer(tiny_model(), tiny_train(steps=10, ema=0.9), two_modes, callbacks=[RunFolder(tmp_path, command="python -m gan_core train ...")])
    list(t.run())
    names = {p.name for p in tmp_path.iterdir()}
    assert {"model.safetensors", "config.json", "README.md", "training_state.safetensors", "samples", "metrics.jsonl"} <= names
    grids = sorted(p.name for p in (tmp_path / "samples").glob("grid_*.png"))
    assert grids == ["grid_0000000.png", "grid_0000005.png", "grid_0000010.png"]
    lines = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == list(range(1, 11))
    assert {"loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "images_per_s", "elapsed"} <= lines[0].keys()
    card = (tmp_path / "README.md").read_text()
    assert "python -m gan_core train" in card and "two modes" in card
    loaded = checkpoint.load_generator(tmp_path)
    assert loaded.class_names == ["left", "top"]
    with torch.no_grad():
        assert torch.allclose(loaded.generator(t.fixed_z), t.sample_fixed(), atol=1e-6)


def test_half_precision_checkpoint_round_trips(tmp_path):
    g, _ = build_models(tiny_model())
    checkpoint.save_generator(tmp_path / "m.safetensors", g, RunConfig(model=g.cfg), half=True)
    loaded = checkpoint.load_generator(tmp_path / "m.safetensors").generator
    assert next(loaded.parameters()).dtype == torch.float32
    assert torch.allclose(loaded.to_img.weight, g.to_img.weight, atol=1e-3)


def test_export_makes_a_small_shareable_folder_whose_generator_and_discriminator_load(tmp_path, two_modes):
    from gan_core.train.export import export_run

    run = tmp_path / "run"
    t = Trainer(tiny_model(), tiny_train(steps=10, ema=0.9), two_modes, callbacks=[RunFolder(run)])
    list(t.run())
    (run / "samples" / "grid_0000100.png.part").write_bytes(b"")  # a half-written grid is not a grid
    out = export_run(run, tmp_path / "out", half=True)
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert names == {"model.safetensors", checkpoint.D_FILE, "config.json", "README.md", "metrics.jsonl",
                     "samples/grid_0000010.png"}  # the latest grid only; no optimiser state
    loaded = checkpoint.load_generator(out).generator
    with torch.no_grad():
        assert torch.allclose(loaded(t.fixed_z), t.sample_fixed(), atol=2e-2)  # float16 weights
    trained = t.D.state_dict()
    for k, v in checkpoint.load_discriminator(out).state_dict().items():  # FreezeD fine-tuning needs D
        assert torch.allclose(v.float(), trained[k].float(), atol=1e-2), k
    export_run(run, out)  # exporting again replaces the folder whole
    assert not list(tmp_path.glob(".*export"))


def test_non_finite_weights_are_never_saved(tmp_path):
    g, _ = build_models(tiny_model())
    with torch.no_grad():
        g.to_img.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN"):
        checkpoint.save_generator(tmp_path / "m.safetensors", g, RunConfig(model=g.cfg))
    assert not (tmp_path / "m.safetensors").exists() and not list(tmp_path.iterdir())


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"previous")

    with pytest.raises(TypeError):
        checkpoint.atomic_write_bytes(path, object())  # fails mid-write
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_stray_temp_files_are_cleaned_at_start(tmp_path, two_modes):
    (tmp_path / ".model.safetensors.abc123.tmp").write_bytes(b"half a checkpoint")
    t = Trainer(tiny_model(), tiny_train(steps=1), two_modes, callbacks=[RunFolder(tmp_path)])
    list(t.run())
    assert not list(tmp_path.glob(".*.tmp"))


# -------------------------------------------------------------- RELIABILITY.md items 20-21


class _Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.mark.parametrize("name", ["model.safetensors", "model.pt", "model.pkl"])
def test_a_pickle_is_refused_and_never_unpickled(tmp_path, name):
    marker = tmp_path / "marker"
    bad = tmp_path / name
    bad.write_bytes(pickle.dumps(_Marker(marker), protocol=4))
    with pytest.raises(CheckpointError, match="pickle"):
        checkpoint.load_generator(bad)
    assert not marker.exists()


def test_a_torch_save_zip_is_refused(tmp_path):
    bad = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(2)}, bad)
    with pytest.raises(CheckpointError, match="pickle"):
        checkpoint.load_generator(bad)


def _header_file(path: Path, header: dict, data: bytes = b"", claimed_len: int | None = None):
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h) if claimed_len is None else claimed_len) + h + data)
    return path


def test_header_longer_than_the_file_is_refused(tmp_path):
    p = _header_file(tmp_path / "m.safetensors", {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"1234", claimed_len=10_000)
    with pytest.raises(CheckpointError, match="header longer than the file"):
        checkpoint.load_generator(p)


def test_huge_header_is_refused(tmp_path):
    p = _header_file(tmp_path / "m.safetensors", {}, claimed_len=2**40)
    with pytest.raises(CheckpointError, match="too large"):
        checkpoint.load_generator(p)


def test_overlapping_offsets_are_refused(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    p = _header_file(tmp_path / "m.safetensors", header, bytes(12))
    with pytest.raises(CheckpointError, match="corrupt"):
        checkpoint.load_generator(p)


def test_truncated_and_random_files_are_refused(tmp_path):
    (tmp_path / "short.safetensors").write_bytes(b"abc")
    (tmp_path / "random.safetensors").write_bytes(np.random.default_rng(0).bytes(4096))
    for name in ("short.safetensors", "random.safetensors"):
        with pytest.raises(CheckpointError):
            checkpoint.load_generator(tmp_path / name)


def test_a_text_file_named_safetensors_is_called_what_it_is(tmp_path):
    p = tmp_path / "model.safetensors"
    p.write_text("These are my notes about GANs, not a model.\n" * 20)
    with pytest.raises(CheckpointError, match=r"^model\.safetensors: not a safetensors file"):
        checkpoint.load_generator(p)


def test_too_many_keys_are_refused_before_loading(tmp_path):
    n = 100_000
    header = {f"t{i}": {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]} for i in range(n)}
    p = _header_file(tmp_path / "m.safetensors", header, bytes(4 * n))
    with pytest.raises(CheckpointError, match="100000 tensors"):
        checkpoint.load_generator(p)


def _saved(tmp_path, cfg, tensors):
    p = tmp_path / "model.safetensors"
    save_file(tensors, str(p), metadata={"config": RunConfig(model=cfg).to_json()})
    return p


def test_wrong_architecture_is_refused_with_the_mismatch(tmp_path):
    g, _ = build_models(tiny_model(ngf=8))
    p = _saved(tmp_path, tiny_model(ngf=16), g.state_dict())
    with pytest.raises(CheckpointError, match="shape"):
        checkpoint.load_generator(p)
    sd = dict(g.state_dict())
    sd.pop("to_img.weight")
    p = _saved(tmp_path, tiny_model(ngf=8), sd)
    with pytest.raises(CheckpointError, match="missing 1 tensor"):
        checkpoint.load_generator(p)


def test_float64_weights_are_refused(tmp_path):
    g, _ = build_models(tiny_model())
    p = _saved(tmp_path, g.cfg, {k: v.double() if v.is_floating_point() else v for k, v in g.state_dict().items()})
    with pytest.raises(CheckpointError, match="F64"):
        checkpoint.load_generator(p)


def test_nan_weights_are_refused(tmp_path):
    g, _ = build_models(tiny_model())
    sd = {k: v.clone() for k, v in g.state_dict().items()}
    sd["to_img.weight"][0] = float("nan")
    p = _saved(tmp_path, g.cfg, sd)
    with pytest.raises(CheckpointError, match="NaN"):
        checkpoint.load_generator(p)


def test_missing_config_is_refused(tmp_path):
    g, _ = build_models(tiny_model())
    p = tmp_path / "model.safetensors"
    save_file(g.state_dict(), str(p))
    with pytest.raises(CheckpointError, match="no config"):
        checkpoint.load_generator(p)


def test_a_safetensors_header_length_starting_with_0x80_is_not_mistaken_for_a_pickle(tmp_path):
    g, _ = build_models(tiny_model())
    sd = g.state_dict()
    for pad in range(300):  # find metadata that makes the header length's first byte 0x80
        p = tmp_path / "model.safetensors"
        save_file(sd, str(p), metadata={"config": RunConfig(model=g.cfg).to_json(), "pad": "x" * pad})
        if p.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no padding gave a 0x80 first byte")
    assert checkpoint.load_generator(p).config.model == g.cfg
