"""A training process killed with SIGKILL mid-epoch and restarted ends exactly like one that
was never interrupted: weights, every optimizer slot (Lookahead over Adam), the schedule's
step and EarlyStopping's best epoch and value. BackupAndRestore restarts from the last epoch
end; EarlyStopping(state_dir=...) keeps its own state; TensorFlow runs deterministically; the
random layer (StochasticDepth) resumes its generator from the backup. Keras's own Dropout does
not save its generator state, so a run using it resumes with other masks: this test found that."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

# the slow tier: a training process killed mid-epoch and resumed (~30 s)
pytestmark = pytest.mark.slow

SCRIPT = str(Path(__file__).with_name("train_resumable.py"))


def _run(work, env, wait=True):
    process = subprocess.Popen(
        [sys.executable, SCRIPT, str(work)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    if wait:
        out, _ = process.communicate(timeout=300)
        assert process.returncode == 0, out.decode(errors="replace")[-3000:]
    return process


def _progress(work):
    try:
        epoch, batch = (work / "progress").read_text().split()
        return int(epoch), int(batch)
    except (OSError, ValueError):
        return None


def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    straight = tmp_path / "straight"
    straight.mkdir()
    _run(straight, env)

    killed = tmp_path / "killed"
    killed.mkdir()
    process = _run(killed, {**env, "KB_PAUSE": "0.05"}, wait=False)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        position = _progress(killed)
        if position is not None and position >= (2, 3):  # the middle of the third epoch
            break
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert (killed / "backup").exists() and not (killed / "result.npz").exists()
    _run(killed, env)  # the restart

    a, b = np.load(straight / "result.npz"), np.load(killed / "result.npz")
    assert sorted(a.files) == sorted(b.files)
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not (killed / "backup").exists() and not os.listdir(killed / "early_stopping")  # cleaned up at the end
