import pytest

from kerasboost import schedules
from kerasboost.__main__ import main
from kerasboost.api_export import registered_exports
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
