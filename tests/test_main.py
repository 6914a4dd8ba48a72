import pytest

from kerasboost import schedules
from kerasboost.api_export import registered_exports
from kerasboost.cli import main
from kerasboost.diagnostics.gallery import gallery_schedules


def test_info_lists_every_registered_object(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for path, key in registered_exports().items():
        assert f"{path}" in out and key in out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  kerasboost.")}
    # what each thing is, and whether it is saved with a model
    assert lines["kerasboost.callbacks.EarlyStopping"][:2] == ["callback", "-"]
    assert lines["kerasboost.tuning.MLPHyperModel"][0] == "hypermodel"
    assert lines["kerasboost.ensemble.SnapshotEnsemble"][0] == "callback"
    assert lines["kerasboost.schedules.OneCycle"] == ["schedule", "kerasboost>OneCycle"]
    assert lines["kerasboost.optimizers.SAM"][0] == "model"
    assert lines["kerasboost.layers.drop_path_rates"][0] == "function"


def test_gallery_draws_every_schedule(tmp_path):
    drawn = {type(s).__name__ for s in gallery_schedules().values()}
    assert drawn == set(schedules.__all__)
    out = tmp_path / "g.png"
    assert main(["gallery", "--out", str(out), "--dpi", "40"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_command_exits_with_usage():
    with pytest.raises(SystemExit) as info:
        main(["fly"])
    assert info.value.code == 2


def _command(*args, env_extra=None):
    """The `kerasboost` console command's entry point (`kerasboost_cli.main`), in a fresh process."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = f"import sys, kerasboost_cli; sys.exit(kerasboost_cli.main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


# the slow tier: the console command in fresh processes
@pytest.mark.slow
def test_the_command_hides_tensorflows_start_up_lines_unless_verbose():
    quiet = _command("info")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert quiet.stdout.startswith("kerasboost ") and "kerasboost.layers.DropPath" in quiet.stdout
    assert quiet.stderr.strip() == "", quiet.stderr[-2000:]  # not one line of TensorFlow's C++ logging
    verbose = _command("info", "--verbose")  # accepted after the subcommand too
    assert verbose.returncode == 0 and verbose.stdout == quiet.stdout


def test_main_accepts_verbose_before_or_after_the_subcommand(capsys):
    assert main(["--verbose", "info"]) == 0 and main(["info", "--verbose"]) == 0
