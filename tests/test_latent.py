"""Latent tools: seeds, interpolation, easing, classes, truncation, walks, generation, projection."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan_core import latent, projection
from gan_core.config import ModelConfig
from gan_core.models import build_models


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_generator(num_classes: int = 0, seed: int = 0, with_d: bool = False):
    """A 16 px G (nz 8) whose images actually vary with z.

    A freshly initialised DCGAN G outputs almost flat grey in eval mode (N(0, 0.02) weights
    shrink activations layer by layer, while the running statistics say variance 1), so
    the batch-norm statistics are calibrated with a few train-mode passes, the output layer
    is scaled up, and class embeddings are randomised so that classes differ.
    """
    cfg = ModelConfig(res=16, nz=8, ngf=8, ndf=8, num_classes=num_classes)
    G, D = build_models(cfg, seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in G.modules():
            if hasattr(m, "gamma") and isinstance(m.gamma, torch.nn.Embedding):
                m.gamma.weight.normal_(1.0, 0.5, generator=gen)
                m.beta.weight.normal_(0.0, 0.5, generator=gen)
        for m in G.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None  # cumulative average: exact statistics after a few passes
        G.train()
        for _ in range(4):
            z = torch.randn(64, cfg.nz, generator=gen)
            y = torch.randint(0, num_classes, (64,), generator=gen) if num_classes else None
            G(z, y)
        G.to_img.weight.mul_(20.0)
    G.eval()
    return (G, D.eval()) if with_d else G


# ---------------------------------------------------------------------------- seeds


def test_seed_latent_golden_values_are_stable():
    # pinned: a seed must name the same z on every machine, torch version and run
    assert torch.allclose(
        latent.seed_latent(0, 8),
        torch.tensor([1.5410, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986, 0.4033, 0.8380]),
        atol=1e-4,
    )
    assert torch.allclose(
        latent.seed_latent(1, 100)[:4], torch.tensor([-1.5256, -0.7502, -0.6540, -1.6095]), atol=1e-4
    )


def test_seed_latent_ignores_the_global_rng():
    torch.manual_seed(123)
    a = latent.seed_latent(7, 16)
    torch.randn(1000)
    torch.manual_seed(999)
    assert torch.equal(a, latent.seed_latent(7, 16))
    assert a.dtype == torch.float32 and a.device.type == "cpu"


def test_seed_latents_stack_the_single_seed_latents():
    zs = latent.seed_latents([3, 1, 3], 12)
    assert zs.shape == (3, 12)
    assert torch.equal(zs[0], latent.seed_latent(3, 12)) and torch.equal(zs[0], zs[2])
    assert not torch.equal(zs[0], zs[1])


@pytest.mark.parametrize("bad", [-1, 2**63, 1.5, True])
def test_seed_out_of_range_is_a_clear_error(bad):
    with pytest.raises(latent.LatentError, match="seed"):
        latent.seed_latent(bad, 4)


def test_parse_seeds_reads_lists_and_inclusive_ranges():
    assert latent.parse_seeds("1,2,3") == [1, 2, 3]
    assert latent.parse_seeds(" 3, 10-12 ,") == [3, 10, 11, 12]
    assert latent.parse_seeds("1 2 3") == [1, 2, 3]  # spaces separate seeds too (once read as 123)
    assert latent.parse_seeds("1  7,\t42 0 - 2") == [1, 7, 42, 0, 1, 2]
    with pytest.raises(latent.LatentError, match="at most 3 seeds at a time; remove some"):
        latent.parse_seeds("1-4", max_count=3)
    for bad in ["", "a", "5-2", "-3", "1.5", "0-5000"]:
        with pytest.raises(latent.LatentError, match="seeds"):
            latent.parse_seeds(bad)


# ---------------------------------------------------------------------------- interpolation


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True)


def test_lerp_broadcasts_a_vector_pair_over_times():
    a, b = torch.zeros(4), torch.ones(4)
    path = latent.lerp(a, b, torch.tensor([0.0, 0.25, 1.0]))
    assert path.shape == (3, 4)
    assert torch.equal(path[:, 0], torch.tensor([0.0, 0.25, 1.0]))


def test_slerp_hits_both_endpoints_for_non_unit_vectors():
    g = torch.Generator().manual_seed(0)
    a, b = 3 * torch.randn(6, 32, generator=g), 0.5 * torch.randn(6, 32, generator=g)
    assert torch.allclose(latent.slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(latent.slerp(a, b, 1.0), b, atol=1e-5)


def test_slerp_keeps_unit_vectors_on_the_unit_sphere():
    g = torch.Generator().manual_seed(1)
    a, b = _unit(torch.randn(32, generator=g)), _unit(torch.randn(32, generator=g))
    path = latent.slerp(a, b, torch.linspace(0, 1, 21))
    assert torch.allclose(path.norm(dim=1), torch.ones(21), atol=1e-5)


def test_slerp_moves_at_constant_angular_speed_and_matches_shoemakes_formula():
    g = torch.Generator().manual_seed(2)
    a, b = _unit(torch.randn(16, generator=g)), _unit(torch.randn(16, generator=g))
    t = torch.linspace(0, 1, 11)
    path = latent.slerp(a, b, t)
    omega = torch.acos(a @ b)
    expected = (torch.sin((1 - t) * omega)[:, None] * a + torch.sin(t * omega)[:, None] * b) / torch.sin(omega)
    assert torch.allclose(path, expected, atol=1e-5)
    angles = torch.acos((path @ a).clamp(-1, 1))
    assert torch.allclose(angles, t * omega, atol=1e-3)


def test_slerp_interpolates_the_norm_for_non_unit_inputs():
    g = torch.Generator().manual_seed(3)
    a, b = 2 * _unit(torch.randn(10, generator=g)), 5 * _unit(torch.randn(10, generator=g))
    t = torch.tensor([0.0, 0.3, 0.5, 1.0])
    assert torch.allclose(latent.slerp(a, b, t).norm(dim=1), 2 + 3 * t, atol=1e-5)


@pytest.mark.parametrize("case", ["identical", "parallel", "nearly parallel", "antiparallel", "nearly antiparallel"])
def test_slerp_has_no_nan_for_parallel_or_antiparallel_vectors(case):
    u = _unit(torch.arange(1.0, 9.0))
    w = _unit(torch.tensor([1.0, -1, 1, -1, 1, -1, 1, -1]))
    b = {
        "identical": u,
        "parallel": 3 * u,
        "nearly parallel": _unit(u + 1e-7 * w),
        "antiparallel": -u,
        "nearly antiparallel": _unit(-u + 1e-7 * w),
    }[case]
    t = torch.linspace(0, 1, 9)
    path = latent.slerp(u, b, t)
    assert torch.isfinite(path).all()
    assert torch.allclose(path[0], u, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    if case != "parallel":  # unit inputs stay on the sphere, even halfway round from -u to u
        assert torch.allclose(path.norm(dim=1), torch.ones(9), atol=1e-5)
    if case == "antiparallel":  # halfway along a great circle from u to -u is orthogonal to both
        assert abs(float(path[4] @ u)) < 1e-5


def test_slerp_with_a_zero_vector_falls_back_to_lerp():
    a, b = torch.zeros(5), torch.ones(5)
    assert torch.allclose(latent.slerp(a, b, 0.5), torch.full((5,), 0.5))


def test_slerp_of_batches_returns_float32_rows():
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    out = latent.slerp(a, b, torch.rand(4))
    assert out.shape == (4, 8) and out.dtype == torch.float32


# ---------------------------------------------------------------------------- easing


@pytest.mark.parametrize("name", list(latent.EASINGS))
def test_easings_map_0_to_0_and_1_to_1_monotonically(name):
    e = latent.easing(name)
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    v = e(t)
    assert float(v[0]) == pytest.approx(0.0, abs=1e-12) and float(v[-1]) == pytest.approx(1.0, abs=1e-12)
    assert (v.diff() >= 0).all()


@pytest.mark.parametrize("name", ["smoothstep", "cosine"])
def test_smooth_easings_rest_at_both_ends(name):
    e = latent.easing(name)
    h = torch.tensor(1e-4, dtype=torch.float64)
    assert float(e(h) / h) < 1e-3 and float((1 - e(1 - h)) / h) < 1e-3


def test_unknown_easing_or_interpolation_names_the_choices():
    with pytest.raises(latent.LatentError, match="smoothstep"):
        latent.easing("bouncy")
    with pytest.raises(latent.LatentError, match="slerp"):
        latent.interpolator("cubic")


# ---------------------------------------------------------------------------- classes


def test_class_blend_weights_sum_to_one_and_hit_both_classes():
    w = latent.class_blend(0, 2, torch.tensor([0.0, 0.5, 1.0]), 3)
    assert torch.allclose(w.sum(1), torch.ones(3))
    assert torch.equal(w[0], torch.tensor([1.0, 0, 0])) and torch.equal(w[2], torch.tensor([0.0, 0, 1]))
    assert torch.equal(w[1], torch.tensor([0.5, 0, 0.5]))


def test_conditional_generator_reads_one_hot_weights_as_the_class_index():
    G = tiny_generator(num_classes=3)
    z = latent.seed_latents([1, 2], 8)
    by_index = latent.generate(G, z, torch.tensor([2, 2]), precision="fp32")
    by_weights = latent.generate(G, z, latent.one_hot(2, 3), precision="fp32")
    assert np.abs(by_index.astype(int) - by_weights.astype(int)).max() <= 1
    other = latent.generate(G, z, 0, precision="fp32")
    assert np.abs(by_index.astype(int) - other.astype(int)).mean() > 2  # classes differ


def test_a_conditional_generator_without_a_class_is_a_clear_error():
    with pytest.raises(latent.LatentError, match="class-conditional"):
        latent.generate(tiny_generator(num_classes=3), latent.seed_latents([1], 8))


def test_class_index_accepts_names_and_indices_and_refuses_others():
    assert latent.class_index("Cat", ["dog", "cat"], 2) == 1
    assert latent.class_index("0", ["dog", "cat"], 2) == 0
    with pytest.raises(latent.LatentError, match="dog"):
        latent.class_index("bird", ["dog", "cat"], 2)
    with pytest.raises(latent.LatentError, match="unconditional"):
        latent.class_index("0", [], 0)


# ---------------------------------------------------------------------------- truncation


def test_truncation_scales_toward_the_mean():
    z = latent.seed_latent(5, 16)
    assert torch.equal(latent.truncate(z, 1.0), z)
    assert torch.equal(latent.truncate(z, 0.0), torch.zeros(16))
    mean = torch.ones(16)
    assert torch.allclose(latent.truncate(z, 0.5, mean), mean + 0.5 * (z - mean))
    with pytest.raises(latent.LatentError, match="psi"):
        latent.truncate(z, -0.1)


def test_resampling_truncation_redraws_only_the_entries_beyond_the_threshold():
    z = 2.5 * latent.seed_latent(11, 256)
    out = latent.resample_truncated(z, 1.0, torch.Generator().manual_seed(0))
    assert out.abs().max() <= 1.0
    keep = z.abs() <= 1.0
    assert torch.equal(out[keep], z[keep]) and not torch.equal(out[~keep], z[~keep].clamp(-1, 1))
    again = latent.resample_truncated(z, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


# ---------------------------------------------------------------------------- walks


@pytest.mark.parametrize("interp", ["slerp", "lerp"])
@pytest.mark.parametrize("ease", ["linear", "smoothstep", "cosine"])
def test_keyframe_loop_passes_through_every_keyframe_and_closes(interp, ease):
    keys = latent.seed_latents([1, 2, 3], 8)
    n = 30
    positions = torch.arange(n + 1, dtype=torch.float64) / n  # one frame past the last
    path = latent.keyframe_loop(keys, positions, interp, ease)
    assert path.shape == (n + 1, 8)
    for k in range(3):
        assert torch.allclose(path[k * n // 3], keys[k], atol=1e-6)
    assert torch.equal(path[n], path[0])  # the frame after the last is the first: a seamless loop


def test_loop_frames_after_the_last_equal_the_first_as_images():
    G = tiny_generator()
    n = 12
    z = latent.keyframe_loop(latent.seed_latents([4, 5], 8), torch.arange(n + 1, dtype=torch.float64) / n)
    frames = latent.generate(G, z, precision="fp32")
    assert np.array_equal(frames[n], frames[0])
    assert not np.array_equal(frames[n - 1], frames[0])


def test_class_loop_blends_keyframe_classes_in_step_with_the_latents():
    w = latent.class_loop([0, 1], 2, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]))
    assert torch.allclose(w, torch.tensor([[1.0, 0], [0.5, 0.5], [0, 1], [0.5, 0.5], [1, 0]]))


def test_great_circle_loop_has_constant_norm_closes_and_depends_on_its_seed():
    n = 40
    positions = torch.arange(n + 1, dtype=torch.float64) / n
    path = latent.great_circle_loop(16, positions, seed=3)
    norms = path.norm(dim=1)
    assert torch.allclose(norms, norms[0].expand(n + 1), atol=1e-4)
    assert torch.allclose(path[n], path[0], atol=1e-6)
    step = (path[1:] - path[:-1]).norm(dim=1)  # constant speed: no keyframe kinks
    assert float(step.max() - step.min()) < 1e-4
    assert torch.equal(path, latent.great_circle_loop(16, positions, seed=3))
    assert not torch.allclose(path, latent.great_circle_loop(16, positions, seed=4))


def test_endless_walk_passes_through_consecutive_seeds_and_chunks_join_seamlessly():
    chunks = latent.endless_walk(8, seed=20, frames_per_key=5, chunk=3)
    frames = torch.cat([next(chunks) for _ in range(6)])  # 18 frames, across 3 keyframe segments
    assert torch.equal(frames[0], latent.seed_latent(20, 8))
    assert torch.allclose(frames[5], latent.seed_latent(21, 8), atol=1e-6)
    assert torch.allclose(frames[10], latent.seed_latent(22, 8), atol=1e-6)
    one_chunk = next(latent.endless_walk(8, seed=20, frames_per_key=5, chunk=18))
    assert torch.allclose(frames, one_chunk, atol=1e-6)


# ---------------------------------------------------------------------------- generation


def test_generate_returns_uint8_images_independent_of_the_batch_size():
    G = tiny_generator()
    z = latent.seed_latents(range(7), 8)
    a = latent.generate(G, z, batch_size=2, precision="fp32")
    b = latent.generate(G, z, batch_size=7, precision="fp32")
    assert a.shape == (7, 16, 16, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert a.std() > 10  # the tiny model's images are not flat


def test_generate_restores_training_mode_and_leaks_no_inference_mode():
    G = tiny_generator()
    G.train()
    batches = latent.generate_batches(G, latent.seed_latents(range(4), 8), batch_size=2, precision="fp32")
    next(batches)
    assert G.training  # eval only while the batch was computed
    assert not torch.is_inference_mode_enabled() and torch.is_grad_enabled()
    batches.close()


def test_generate_in_bf16_is_close_to_fp32():
    G = tiny_generator()
    z = latent.seed_latents(range(8), 8)
    a = latent.generate(G, z, precision="fp32").astype(int)
    b = latent.generate(G, z, precision="bf16").astype(int)
    assert np.abs(a - b).mean() < 3


def test_sample_names_images_by_seed():
    G = tiny_generator()
    grid = latent.sample(G, [5, 6, 5], precision="fp32")
    assert np.array_equal(grid[0], grid[2]) and not np.array_equal(grid[0], grid[1])


# ---------------------------------------------------------------------------- projection


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a.astype(np.float64) - b.astype(np.float64)) / 127.5).__pow__(2).mean())


def test_projection_recovers_an_image_the_generator_made():
    G = tiny_generator()
    target = latent.generate(G, latent.seed_latent(1234, 8)[None], precision="fp32")[0]
    z, recon, loss = projection.project(G, target, steps=150, seed=0, restarts=4, candidates=64)
    assert z.shape == (8,) and recon.shape == target.shape and recon.dtype == np.uint8
    others = latent.sample(G, range(100, 116), precision="fp32")
    typical = np.mean([_mse(o, target) for o in others])
    assert _mse(recon, target) < 0.01 * typical  # far closer than an unrelated image
    assert float((z - latent.seed_latent(1234, 8)).norm()) < 0.1  # and the latent itself is found
    assert loss == pytest.approx(_mse(recon, target), rel=0.2, abs=1e-4)


def test_projection_is_deterministic_for_a_seed_and_leaves_model_gradients_alone():
    G, D = tiny_generator(with_d=True)
    target = latent.generate(G, latent.seed_latent(7, 8)[None], precision="fp32")[0]
    a = projection.project(G, target, steps=20, seed=3, D=D, restarts=2, candidates=16)
    b = projection.project(G, target, steps=20, seed=3, D=D, restarts=2, candidates=16)
    assert torch.equal(a.z, b.z) and a.steps == 20
    assert all(p.grad is None for p in list(G.parameters()) + list(D.parameters()))
    assert not G.training and not D.training


def test_projection_of_a_conditional_model_optimises_the_class():
    G = tiny_generator(num_classes=3)
    target = latent.generate(G, latent.seed_latent(9, 8)[None], torch.tensor([2]), precision="fp32")[0]
    result = projection.project(G, target, steps=120, seed=0, restarts=6, candidates=48)
    assert result.y is not None and result.y.shape == (3,)
    assert float(result.y.sum()) == pytest.approx(1.0, abs=1e-5)
    assert int(result.y.argmax()) == 2 and float(result.y[2]) > 0.9
    others = latent.sample(G, range(100, 112), y=0, precision="fp32")
    assert _mse(result.recon, target) < 0.01 * np.mean([_mse(o, target) for o in others])


def test_projection_resizes_and_crops_any_photo_to_the_model():
    G = tiny_generator()
    photo = np.random.default_rng(0).integers(0, 256, (40, 60, 4), dtype=np.uint8)  # RGBA, not square
    result = projection.project(G, photo, steps=3, restarts=1, candidates=4)
    assert result.recon.shape == (16, 16, 3) and math.isfinite(result.loss)
    with pytest.raises(latent.LatentError, match="uint8"):
        projection.project(G, photo.astype(np.float32), steps=1)
