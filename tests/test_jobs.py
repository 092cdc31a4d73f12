"""The training slot: one run at a time in a child process, a bounded queue, one run per client."""

import json
import time

import pytest

from apphelpers import wait_until
from conftest import tiny_model, tiny_train, two_mode_set
from ui.jobs import JobError, JobManager

pytestmark = pytest.mark.slow


def spec(tmp_path, name):
    data = tmp_path / f"{name}.npz"
    two_mode_set(n=32).save_npz(data)
    return {"data": str(data), "model": tiny_model().to_dict(),
            "train": tiny_train(steps=100000, sample_every=50, ckpt_every=1000, log_every=10).to_dict(),
            "threads": 1}


def test_one_slot_a_bounded_queue_and_one_run_per_client(tmp_path):
    jobs = JobManager(slots=1, max_queue=1, poll_s=0.2).start()
    try:
        a, b, c = "a" * 32, "b" * 32, "c" * 32
        jobs.submit(a, tmp_path / "a", spec(tmp_path, "a"))
        with pytest.raises(JobError) as e:
            jobs.submit(a, tmp_path / "a2", spec(tmp_path, "a2"))
        assert e.value.key == "jobs.one_per_client"
        jobs.submit(b, tmp_path / "b", spec(tmp_path, "b"))
        assert jobs.status(b) == {**jobs.status(b), "state": "queued", "position": 1}
        t0 = time.perf_counter()
        with pytest.raises(JobError) as e:
            jobs.submit(c, tmp_path / "c", spec(tmp_path, "c"))
        assert e.value.key == "jobs.queue_full" and time.perf_counter() - t0 < 1.0  # refused at once

        assert wait_until(lambda: (tmp_path / "a" / "metrics.jsonl").is_file())  # a trains in its own process
        assert jobs.stop(a)
        assert wait_until(lambda: jobs.status(a)["state"] == "stopped")
        status = json.loads((tmp_path / "a" / "status.json").read_text())
        assert status["state"] == "stopped" and (tmp_path / "a" / "model.safetensors").is_file()
        assert wait_until(lambda: jobs.status(b)["state"] == "running")  # the queue moves on

        assert jobs.stop(b)
        assert wait_until(lambda: jobs.status(b)["state"] in ("stopped", "finished"))
    finally:
        jobs.shutdown()
    assert not jobs.busy_clients()


def test_a_queued_run_can_be_cancelled(tmp_path):
    jobs = JobManager(slots=1, max_queue=2, poll_s=0.2).start()
    try:
        jobs.submit("a" * 32, tmp_path / "a", spec(tmp_path, "a"))
        jobs.submit("b" * 32, tmp_path / "b", spec(tmp_path, "b"))
        assert jobs.stop("b" * 32)
        assert jobs.status("b" * 32)["state"] == "cancelled"
        assert not jobs.stop("c" * 32)  # nothing to stop
    finally:
        jobs.shutdown()


def test_a_failing_run_reports_a_plain_message(tmp_path):
    jobs = JobManager(slots=1, poll_s=0.2).start()
    try:
        bad = spec(tmp_path, "a")
        bad["model"]["res"] = 32  # the data is 16 px
        jobs.submit("a" * 32, tmp_path / "a", bad)
        assert wait_until(lambda: jobs.status("a" * 32)["state"] == "error")
        assert "expects" in jobs.status("a" * 32)["message"]
    finally:
        jobs.shutdown()
