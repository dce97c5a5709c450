"""Every setting is defined once (kneevision.settings) and refused, when invalid, in one
line naming it, before any inference, in every entry point."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from kneevision.cli import _settings, build_parser, main
from kneevision.errors import KneeVisionError
from kneevision.settings import EXPORT_FORMATS, LIVE_DEFAULTS, Settings, describe, flag_of
from tests.helpers import BUNDLED, REPO

FIELDS = dataclasses.fields(Settings)


def test_every_field_is_described():
    for f in FIELDS:
        meta = f.metadata
        assert meta["help"] and isinstance(meta["changes_results"], bool), f.name
        if f.type in ("int", "float"):
            assert meta["range"] is not None, f"{f.name} has no range"
    assert {d["name"] for d in describe()} == {f.name for f in FIELDS}
    export = next(f for f in FIELDS if f.name == "export")
    assert export.default == () and export.metadata["choices"] == EXPORT_FORMATS
    assert not export.metadata["changes_results"]


@pytest.mark.parametrize("command", ["analyze", "batch", "live"])
def test_the_options_of_each_command_come_from_the_settings(command):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    flags = {s for a in sub._actions for s in a.option_strings}
    for f in FIELDS:
        if command in f.metadata["commands"]:
            assert flag_of(f) in flags, (command, f.name)
    assert "--config" in flags


def test_defaults_then_file_then_flags(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('[analyze]\ncutoff_hz = 4.0\nprotocol = "squat"\nexport = ["trc"]\n')
    parser = build_parser()
    s = _settings(parser.parse_args(["analyze", "c.mp4", "--config", str(toml)]))
    assert (s.cutoff_hz, s.protocol, s.export) == (4.0, "squat", ("trc",))
    s = _settings(parser.parse_args(["analyze", "c.mp4", "--config", str(toml),
                                     "--cutoff-hz", "3", "--export", "mot,c3d"]))  # fmt: skip
    assert (s.cutoff_hz, s.protocol, s.export) == (3.0, "squat", ("mot", "c3d"))
    assert _settings(parser.parse_args(["analyze", "c.mp4"])) == Settings()


def test_live_takes_settings_and_config(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('[live]\nprotocol = "seated-twist"\nvalgus_warn_deg = 12\n')
    parser = build_parser()
    s = _settings(parser.parse_args(["live"]))
    assert s == Settings.from_dict(LIVE_DEFAULTS)
    s = _settings(parser.parse_args(["live", "--config", str(toml), "--report"]))
    assert (s.protocol, s.valgus_warn_deg, s.report) == ("seated-twist", 12.0, True)
    assert s.model == "lite"


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"cutoff_hz": -1}, "setting cutoff_hz: must be between"),
        ({"cutoff_hz": "fast"}, "setting cutoff_hz: must be a number"),
        ({"max_people": 1.5}, "setting max_people: must be a whole number"),
        ({"fast": "yes"}, "setting fast: must be true or false"),
        ({"protocol": "jump"}, "setting protocol: choose from"),
        ({"export": ["trc", "fbx"]}, "setting export: choose from"),
        ({"colour": "red"}, "unknown setting(s): colour"),
    ],
)
def test_invalid_values_are_one_line_errors_naming_the_setting(values, words):
    with pytest.raises(KneeVisionError) as err:
        Settings.from_dict(values)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_replace_validates_again():
    with pytest.raises(KneeVisionError, match="vis_threshold"):
        dataclasses.replace(Settings(), vis_threshold=2.0)


def test_a_bad_file_value_names_the_file(tmp_path, capsys):
    toml = tmp_path / "bad.toml"
    toml.write_text("[analyze]\nvis_threshold = 7\n")
    assert main(["analyze", str(BUNDLED), "--config", str(toml), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(toml) in err and "vis_threshold" in err
    assert not any(tmp_path.glob("*_kneevision"))


# A process each (about 3 s on a busy 2-core machine): `analyze` in the fast subset,
# the other entry points with the slow tests.
@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", str(BUNDLED), "--cutoff-hz", "0"],
        pytest.param(
            ["batch", str(BUNDLED.parent), "--db", "x.sqlite", "--max-people", "0"],
            marks=pytest.mark.slow,
        ),
        pytest.param(
            ["live", "--source", str(BUNDLED), "--headless", "--valgus-warn-deg", "90"],
            marks=pytest.mark.slow,
        ),
        pytest.param(["analyze", str(BUNDLED), "--export", "obj"], marks=pytest.mark.slow),
    ],
)
def test_every_entry_point_refuses_before_inference(argv, tmp_path):
    """One line, exit 1, fast (no model is loaded, no frame decoded), nothing written."""
    p = subprocess.run([sys.executable, "-m", "kneevision", *argv, "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kneevision: error: setting "), lines
    assert not list(tmp_path.iterdir())


def test_the_valgus_threshold_exists_once():
    import re

    hits = []
    for path in (REPO / "kneevision").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"valgus\w*\s*(:\s*float\s*)?=\s*10(\.0)?\b", line, re.I):
                hits.append(f"{path.name}:{n}")
    assert len(hits) == 1, hits  # protocols.base.VALGUS_WARN_DEG
