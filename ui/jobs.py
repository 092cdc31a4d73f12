"""One training slot for the whole app, a bounded queue, one run per client.

Each run trains in a child process (`python -m gan_core.train.job`, at lower priority), so
the web server's threads never wait on training, Stop is a file the child checks every
step, and the memory of a run goes back to the system when it ends. The child writes
everything into its run folder (gan_core.train.run_folder); the UI reads that folder, so a
reloaded page, or another server thread, sees the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gan_core.train.job import STOP_FILE

ACTIVE = ("queued", "running", "stopping")


class JobError(Exception):
    """Refused: `key` names the i18n message ("jobs.busy", "jobs.queue_full", ...)."""

    def __init__(self, key: str, **fmt: Any):
        super().__init__(key)
        self.key, self.fmt = key, fmt


@dataclass
class Job:
    client_id: str
    run_dir: Path
    spec: dict[str, Any]
    state: str = "queued"  # queued | running | stopping | finished | stopped | error | cancelled
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    stop_requested: float | None = None
    message: str = ""
    process: subprocess.Popen | None = None

    def request_stop(self) -> None:
        (self.run_dir / STOP_FILE).touch()


class JobManager:
    def __init__(self, slots: int = 1, max_queue: int = 4, stop_grace_s: float = 30.0, nice: int = 5,
                 poll_s: float = 0.5):
        self.slots, self.max_queue = slots, max_queue
        self.stop_grace_s, self.nice, self.poll_s = stop_grace_s, nice, poll_s
        self._lock = threading.RLock()
        self._latest: dict[str, Job] = {}  # client -> its most recent job
        self._queue: deque[Job] = deque()
        self._running: list[Job] = []
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> "JobManager":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="gan-studio-jobs", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._closed.wait(self.poll_s):
            self.poll()

    def shutdown(self, timeout: float = 10.0) -> None:
        self._closed.set()
        with self._lock:
            self._queue.clear()
            for job in self._running:
                job.request_stop()
        deadline = time.time() + timeout
        for job in list(self._running):
            try:
                job.process.wait(max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                job.process.kill()
                job.process.wait(5)
        self.poll()

    # ---------------------------------------------------------------- requests

    def submit(self, client_id: str, run_dir: Path, spec: dict[str, Any]) -> Job:
        with self._lock:
            self.poll()
            current = self._latest.get(client_id)
            if current is not None and current.state in ACTIVE:
                raise JobError("jobs.one_per_client")
            if len(self._queue) >= self.max_queue:
                raise JobError("jobs.queue_full", n=self.max_queue)
            job = Job(client_id, Path(run_dir), dict(spec, run_dir=str(run_dir)))
            self._latest[client_id] = job
            self._queue.append(job)
            self._pump()
            return job

    def stop(self, client_id: str) -> bool:
        """Stop the client's run (or take it out of the queue); False when nothing is active."""
        with self._lock:
            job = self._latest.get(client_id)
            if job is None or job.state not in ACTIVE:
                return False
            if job.state == "queued":
                self._queue.remove(job)
                job.state, job.ended = "cancelled", time.time()
            elif job.state == "running":
                job.request_stop()
                job.state, job.stop_requested = "stopping", time.time()
            return True

    def job(self, client_id: str) -> Job | None:
        with self._lock:
            return self._latest.get(client_id)

    def position(self, job: Job) -> int:
        """1 for the next job to start, 2 after it, ...; 0 when not queued."""
        with self._lock:
            return list(self._queue).index(job) + 1 if job in self._queue else 0

    def busy_clients(self) -> set[str]:
        with self._lock:
            return {c for c, j in self._latest.items() if j.state in ACTIVE}

    def status(self, client_id: str) -> dict[str, Any]:
        """The client's job as plain data: state, queue position, run folder, message."""
        job = self.job(client_id)
        if job is None:
            return {"state": "none"}
        return {"state": job.state, "position": self.position(job), "run_dir": str(job.run_dir),
                "message": job.message, "submitted": job.submitted, "started": job.started, "ended": job.ended}

    # ---------------------------------------------------------------- the slot

    def poll(self) -> None:
        with self._lock:
            self._reap()
            now = time.time()
            for job in self._running:  # Stop ignored (a step stuck in a huge batch): end it
                if job.state == "stopping" and now - job.stop_requested > self.stop_grace_s:
                    job.process.kill()
            self._pump()

    def _reap(self) -> None:
        for job in list(self._running):
            if job.process.poll() is None:
                continue
            self._running.remove(job)
            job.ended = time.time()
            status = _read_status(job.run_dir)
            final = status.get("state", "error")
            if final not in ("finished", "stopped", "error"):
                final = "stopped" if job.stop_requested else "error"
                job.message = status.get("message") or f"the training process ended unexpectedly (exit code {job.process.returncode})"
            else:
                job.message = status.get("message", "")
            job.state = final

    def _pump(self) -> None:
        while self._queue and len(self._running) < self.slots and not self._closed.is_set():
            job = self._queue.popleft()
            spec_file = job.run_dir / "job.json"
            try:
                job.run_dir.mkdir(parents=True, exist_ok=True)
                (job.run_dir / STOP_FILE).unlink(missing_ok=True)  # a Stop from an earlier session
                spec_file.write_text(json.dumps(dict(job.spec, nice=self.nice)))
                log = open(job.run_dir / "train.log", "ab")
                with log:  # the child keeps its own handle
                    job.process = subprocess.Popen(
                        [sys.executable, "-m", "gan_core.train.job", str(spec_file)],
                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                        cwd=str(ROOT), env={**os.environ, "PYTHONPATH": _pythonpath(), "OMP_WAIT_POLICY": "PASSIVE"},
                    )
            except OSError as e:
                job.state, job.ended, job.message = "error", time.time(), f"could not start training: {e}"
                continue
            job.state, job.started = "running", time.time()
            self._running.append(job)


ROOT = Path(__file__).resolve().parents[1]


def _pythonpath() -> str:
    """The child imports gan_core from this checkout, whatever the server's working folder."""
    parts = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(parts)


def _read_status(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(run_dir) / "status.json").read_text())
    except (OSError, ValueError):
        return {}
