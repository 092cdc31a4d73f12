"""The playground's view: heatmap colours, gradient arrows, latent mesh, curves, and frames/s."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from gan_core.toy.config import ToyConfig
from gan_core.toy.render import (
    FAKE_DOT,
    REAL_DOT,
    ViewOptions,
    decision_surface,
    generator_gradients,
    latent_mesh,
    pixel_to_world,
    render_canvas,
    render_curves,
    render_view,
)
from gan_core.device import torch_threads
from gan_core.toy.trainer import ToyTrainer


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


class RightIsReal(torch.nn.Module):
    """A fixed critic: score = 3 x_0, so points with x > 0 look real."""

    def forward(self, x):
        return 3.0 * x[:, 0]


@pytest.mark.parametrize("loss", ["ns", "minimax", "lsgan", "hinge", "wgan"])
def test_decision_surface_is_high_where_d_says_real_and_low_where_it_says_fake(loss):
    p = decision_surface(RightIsReal(), loss, extent=3.0, res=9, ref_real=3.0, ref_fake=-3.0)
    assert p.shape == (9, 9) and p.min() >= 0.0 and p.max() <= 1.0
    assert p[:, -1].min() > 0.7 and p[:, 0].max() < 0.3  # right column real, left column fake


def test_decision_surface_rows_run_from_top_to_bottom():
    class TopIsReal(torch.nn.Module):
        def forward(self, x):
            return 3.0 * x[:, 1]

    p = decision_surface(TopIsReal(), "ns", extent=3.0, res=5)
    assert p[0].mean() > 0.9 and p[-1].mean() < 0.1


@pytest.mark.parametrize("loss", ["ns", "minimax", "lsgan", "hinge", "wgan"])
def test_generated_points_are_pushed_towards_where_d_says_real(loss):
    x = np.array([[-0.2, 0.0], [-0.1, 1.0]], dtype=np.float32)
    grad = generator_gradients(RightIsReal(), loss, x)
    assert grad.shape == (2, 2)
    assert (-grad[:, 0] > 0).all()  # the descent direction -dL_G/dx points right
    np.testing.assert_allclose(grad[:, 1], 0.0, atol=1e-6)


def test_minimax_gradient_vanishes_where_d_confidently_rejects_and_ns_does_not():
    far_fake = np.array([[-3.0, 0.0]], dtype=np.float32)  # D(x) = sigmoid(-9), about 1e-4
    mm = np.linalg.norm(generator_gradients(RightIsReal(), "minimax", far_fake))
    ns = np.linalg.norm(generator_gradients(RightIsReal(), "ns", far_fake))
    assert mm < 1e-2 < ns


def test_latent_mesh_is_g_applied_to_a_grid_of_latents():
    G = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        G.weight.copy_(torch.eye(2))
    mesh = latent_mesh(G, nz=2, lines=5, span=2.0)
    assert mesh.shape == (5, 5, 2)
    np.testing.assert_allclose(mesh[0, 0], [-2.0, -2.0])
    np.testing.assert_allclose(mesh[4, 2], [2.0, 0.0])


def test_pixel_to_world_inverts_the_view_mapping():
    assert pixel_to_world(200, 200, 3.0, 400) == pytest.approx((0.0, 0.0))
    assert pixel_to_world(0, 0, 3.0, 400) == pytest.approx((-3.0, 3.0))
    assert pixel_to_world(400, 400, 3.0, 400) == pytest.approx((3.0, -3.0))


def test_a_frame_is_an_rgb_image_showing_real_and_generated_points():
    t = ToyTrainer(ToyConfig(batch=64, width=32))
    t.run(5)
    frame = render_view(t, ViewOptions(size=256, label="A: ns"))
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    colours = {tuple(c) for c in frame.reshape(-1, 3)}
    assert REAL_DOT in colours and FAKE_DOT in colours


def test_frames_change_as_the_run_trains():
    t = ToyTrainer(ToyConfig(batch=64, width=32))
    before = render_view(t, ViewOptions(size=128))
    t.run(20)
    after = render_view(t, ViewOptions(size=128))
    assert np.abs(before.astype(int) - after).mean() > 1.0


def test_turning_layers_off_leaves_a_plain_background():
    t = ToyTrainer(ToyConfig(batch=64, width=32))
    off = ViewOptions(size=64, heatmap=False, mesh=False, real=False, fake=False, arrows=False, modes=False)
    frame = render_view(t, off)
    assert len({tuple(c) for c in frame.reshape(-1, 3)}) == 1


def test_loss_curves_draw_both_losses():
    t = ToyTrainer(ToyConfig(batch=64, width=32))
    t.run(30)
    img = render_curves(t.history, 300, 120)
    assert img.shape == (120, 300, 3)
    plot = img[20:100, 10:290].reshape(-1, 3)
    blue, orange = (39, 120, 200), (214, 96, 40)
    assert (plot == blue).all(1).sum() > 20 and (plot == orange).all(1).sum() > 20


def test_loss_curves_of_an_empty_history_are_a_blank_plot():
    img = render_curves(ToyTrainer(ToyConfig(batch=64, width=32)).history, 200, 100)
    assert img.shape == (100, 200, 3)


def test_canvas_shows_each_user_point():
    img = render_canvas(np.array([[0.0, 0.0], [2.0, 2.0]]), 3.0, 300)
    assert tuple(img[150, 150]) == REAL_DOT and tuple(img[50, 250]) == REAL_DOT


def test_frames_per_second_of_step_plus_render_on_one_thread():
    """Prints the playground's speed (5 steps and one 400 px frame per picture); no timing assert."""
    t = ToyTrainer(ToyConfig())
    t.run(5)
    render_view(t)
    n, steps_per_frame = 10, 5
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        t.run(steps_per_frame)
        frame = render_view(t, ViewOptions(size=400))
        render_curves(t.history)
        t.evaluate()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"\nplayground: {n / wall:.1f} frames/s wall, {n / cpu:.1f} frames/s of CPU time "
          f"({steps_per_frame} steps + 400 px frame + curves + coverage per frame, 1 thread)")
    assert frame.shape == (400, 400, 3)
