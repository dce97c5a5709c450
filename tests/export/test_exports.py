"""Exports read back by readers that share no code with the writers.

TRC and MOT are parsed here with plain Python per the published layouts (OpenSim's
TRCFileAdapter and Storage formats); C3D is read with ezc3d (written with c3d);
netCDF with SciPy's netCDF-3 reader and with xarray. Each is compared with
``pose.npz``, ``landmarks.csv`` and ``angles.csv``.

Tolerances: TRC holds mm to 4 decimals (≤ 5e-5 mm rounding; 0.05 mm against
``landmarks.csv``'s 4-decimal metres); C3D float32 mm (≤ 1e-3 mm); netCDF float32
metres, the same float32 numbers as ``pose.npz`` (exact); MOT repeats ``angles.csv``
exactly. Times: TRC 6 decimals (≤ 5e-7 s), ``angles.csv`` 4 (≤ 5e-5 s).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from kneevision.errors import KneeVisionError, OutputError
from kneevision.export import (
    EXPORT_FORMATS,
    ExportError,
    MissingInputError,
    UnknownFormatError,
    parse_formats,
    to_movement,
    write_exports,
)
from kneevision.kinematics.landmarks import JOINTS
from kneevision.outputs import write_json, write_table_csv
from kneevision.pose.sequence import LANDMARK_NAMES, N_LANDMARKS, PoseSequence

BUNDLED = Path(__file__).resolve().parents[2] / "samples" / "front_goblet_squat_home_A.mp4"


# --- independent readers ---------------------------------------------------------------


def read_trc(path: Path) -> dict:
    """Parse a TRC file per its layout: 5 header lines, a blank line, tab-separated rows."""
    lines = path.read_text().split("\n")
    first = lines[0].split("\t")
    meta = dict(zip(lines[1].split("\t"), lines[2].split("\t"), strict=True))
    labels_row = lines[3].split("\t")
    labels = [t for t in labels_row[2:] if t]
    axes = [t for t in lines[4].split("\t") if t]
    body = lines[5:]
    while body and not body[0].strip():
        body = body[1:]
    rows = [r.split("\t") for r in body if r.strip()]
    width = {len(r) for r in rows}
    data = np.array([[float(c) if c else np.nan for c in r] for r in rows])
    n = len(labels)
    return {
        "first": first,
        "meta": meta,
        "time_label": labels_row[:2],
        "labels": labels,
        "axes": axes,
        "row_width": width,
        "frame": data[:, 0],
        "time": data[:, 1],
        "xyz": data[:, 2:].reshape(len(rows), n, 3),
    }


def read_mot(path: Path) -> dict:
    """Parse an OpenSim storage file: header lines up to ``endheader``, then a table."""
    lines = path.read_text().split("\n")
    end = lines.index("endheader")
    header = lines[:end]
    keys = dict(line.split("=", 1) for line in header[1:] if "=" in line)
    names = lines[end + 1].split("\t")
    rows = [r.split("\t") for r in lines[end + 2 :] if r.strip()]
    data = np.array([[float(c) for c in r] for r in rows])  # float("NaN") is NaN
    return {"name": header[0], "keys": keys, "columns": names, "data": data}


def read_csv_columns(path: Path) -> dict[str, np.ndarray]:
    """A CSV's columns as floats, empty cells NaN."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in rows[0]}


def read_landmarks_csv(path: Path, n_frames: int) -> np.ndarray:
    """``landmarks.csv`` world columns as (T, 33, 3) metres, NaN for absent rows/cells."""
    out = np.full((n_frames, N_LANDMARKS, 3), np.nan)
    index = {name: i for i, name in enumerate(LANDMARK_NAMES)}
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            xyz = [float(r[k]) if r[k] else np.nan for k in ("X_m", "Y_m", "Z_m")]
            out[int(r["frame"]), index[r["landmark"]]] = xyz
    return out


def expected_mm(world_m: np.ndarray) -> np.ndarray:
    """MediaPipe world (x right, y down, z away) → export frame (X right, Y up, Z toward), mm."""
    return np.stack([world_m[..., 0], -world_m[..., 1], -world_m[..., 2]], axis=-1) * 1000.0


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    """Max |a - b| over entries finite in both, after checking NaNs sit in the same places."""
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def small_folder(tmp_path) -> Path:
    """A hand-made finished folder: 12 frames at 25 fps, frames 3-4 without a pose,
    the left knee unseen in frame 7, angle gaps in angles.csv."""
    rng = np.random.default_rng(18)
    n = 12
    seq = PoseSequence.empty(n, 640, 480, 25.0, model_name="full")
    seq.time_s[:] = np.arange(n) / 25.0
    seq.world[:] = rng.uniform(-0.8, 0.8, (n, N_LANDMARKS, 3))
    seq.image[:] = rng.uniform(0, 400, (n, N_LANDMARKS, 2))
    seq.visibility[:] = rng.uniform(0, 1, (n, N_LANDMARKS))
    seq.presence[:] = 1.0
    for arr in (seq.world, seq.image, seq.visibility, seq.presence):
        arr[3:5] = np.nan
    seq.world[7, JOINTS["knee"]["left"]] = np.nan
    folder = tmp_path / "clip_kneevision"
    folder.mkdir()
    seq.save(folder / "pose.npz")
    flex = rng.uniform(0, 120, n)
    flex[3:5] = np.nan
    write_table_csv(
        folder / "angles.csv",
        {
            "frame": np.arange(n),
            "time_s": seq.time_s,
            "left_knee_flexion_deg": flex,
            "right_knee_flexion_deg": flex[::-1],
            "left_fppa_deg": rng.uniform(-20, 20, n),
            "right_fppa_deg": rng.uniform(-20, 20, n),
        },
    )
    write_json(folder / "summary.json", {"kneevision_version": "9.9.9", "input": {"fps": 25.0}})
    return folder


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    """`kneevision analyze` on the bundled clip, once for this module."""
    from kneevision.cli import main

    out = tmp_path_factory.mktemp("export_analysis")
    assert main(["analyze", str(BUNDLED), "--out", str(out), "-q", "--no-overlay"]) == 0
    return out / f"{BUNDLED.stem}_kneevision"


# --- fast tests on the hand-made folder -------------------------------------------------


def test_every_format_round_trips_on_a_small_folder(small_folder):
    written = write_exports(small_folder, list(EXPORT_FORMATS))
    assert [p.name for p in written] == list(EXPORT_FORMATS.values())
    seq = PoseSequence.load(small_folder / "pose.npz")
    want = expected_mm(seq.world)

    trc = read_trc(small_folder / "landmarks.trc")
    assert trc["meta"]["NumFrames"] == "12" and trc["meta"]["Units"] == "mm"
    assert float(trc["meta"]["DataRate"]) == 25.0
    assert trc["row_width"] == {2 + 3 * N_LANDMARKS}
    assert max_abs(trc["xyz"], want) <= 1e-4
    knee = JOINTS["knee"]["left"]
    assert np.isnan(trc["xyz"][7, knee]).all() and np.isfinite(trc["xyz"][7, knee + 1]).all()
    assert np.isnan(trc["xyz"][3:5]).all()

    mot = read_mot(small_folder / "angles.mot")
    angles = read_csv_columns(small_folder / "angles.csv")
    assert mot["columns"][0] == "time"
    for name in mot["columns"][1:]:
        assert max_abs(mot["data"][:, mot["columns"].index(name)], angles[f"{name}_deg"]) == 0

    import ezc3d

    c3d = ezc3d.c3d(str(small_folder / "landmarks.c3d"))
    points = np.transpose(c3d["data"]["points"][:3], (2, 1, 0))  # (T, M, 3)
    assert max_abs(points, want) <= 1e-3
    assert c3d["parameters"]["MANUFACTURER"]["VERSION"]["value"] == ["9.9.9"]

    ds = to_movement(small_folder)
    assert np.isnan(ds.position.values[3:5]).all()
    assert np.isnan(ds.confidence.values[3:5]).all()


def test_formats_are_parsed_once_in_order():
    assert parse_formats(["MOT", "trc,c3d", " mot ", ""]) == ["mot", "trc", "c3d"]
    assert parse_formats("nc") == ["nc"]


def test_unknown_format_is_a_value_error_naming_it_and_the_valid_ones(small_folder):
    with pytest.raises(ValueError, match="'osim'") as err:
        write_exports(small_folder, ["trc", "osim"])
    assert isinstance(err.value, UnknownFormatError)
    for name in EXPORT_FORMATS:
        assert name in str(err.value)
    assert not (small_folder / "landmarks.trc").exists()  # nothing written before the check


def test_missing_input_names_folder_and_file_and_writes_nothing(small_folder):
    (small_folder / "angles.csv").unlink()
    with pytest.raises(MissingInputError) as err:
        write_exports(small_folder, ["trc", "mot"])
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, KneeVisionError)
    assert str(small_folder) in str(err.value) and "angles.csv" in str(err.value)
    assert not (small_folder / "landmarks.trc").exists()

    with pytest.raises(MissingInputError, match="no such directory"):
        write_exports(small_folder / "nope", ["trc"])


def test_nc_without_xarray_is_a_one_line_error(small_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray now fails
    with pytest.raises(ExportError, match=r"needs xarray: pip install") as err:
        write_exports(small_folder, ["trc", "nc"])
    assert "\n" not in str(err.value)
    assert not (small_folder / "landmarks.trc").exists()
    with pytest.raises(ExportError, match="needs xarray"):
        to_movement(small_folder)


def test_a_failed_export_leaves_the_previous_file_and_no_temporary(small_folder, monkeypatch):
    import kneevision.export as export

    write_exports(small_folder, ["trc"])
    before = (small_folder / "landmarks.trc").read_bytes()

    def broken(path, *args, **kwargs):
        Path(path).write_text("half a fi")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export, "write_trc", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_exports(small_folder, ["trc"])
    assert (small_folder / "landmarks.trc").read_bytes() == before
    assert not [p for p in small_folder.iterdir() if p.name.startswith(".")]


def test_a_destination_that_cannot_be_replaced_is_an_output_error(small_folder):
    (small_folder / "angles.mot").mkdir()  # a folder where the file should go
    with pytest.raises(OutputError, match=r"angles\.mot"):
        write_exports(small_folder, ["mot"])
    assert not [p for p in small_folder.iterdir() if p.name.startswith(".")]


# --- a real analysis --------------------------------------------------------------------


@pytest.mark.slow
def test_exports_of_a_real_analysis_match_its_files(analysed):
    summary = json.loads((analysed / "summary.json").read_text())
    fps = summary["input"]["fps"]
    seq = PoseSequence.load(analysed / "pose.npz")
    n = len(seq)
    want = expected_mm(seq.world)
    angles = read_csv_columns(analysed / "angles.csv")
    assert len(angles["time_s"]) == n

    written = write_exports(analysed, EXPORT_FORMATS)
    assert {p.name for p in written} == set(EXPORT_FORMATS.values())

    # TRC: OpenSim's layout, one row a frame, MediaPipe names, mm, frame turned Y-up.
    trc = read_trc(analysed / "landmarks.trc")
    assert trc["first"][:4] == ["PathFileType", "4", "(X/Y/Z)", "landmarks.trc"]
    assert "Y up" in trc["first"][4]
    assert list(trc["meta"]) == [
        "DataRate", "CameraRate", "NumFrames", "NumMarkers",
        "Units", "OrigDataRate", "OrigDataStartFrame", "OrigNumFrames",
    ]  # fmt: skip
    assert int(trc["meta"]["NumFrames"]) == n == len(trc["frame"])
    assert int(trc["meta"]["NumMarkers"]) == N_LANDMARKS
    assert float(trc["meta"]["DataRate"]) == pytest.approx(fps)
    assert trc["time_label"] == ["Frame#", "Time"]
    assert tuple(trc["labels"]) == LANDMARK_NAMES
    assert trc["axes"][:3] == ["X1", "Y1", "Z1"] and trc["axes"][-1] == f"Z{N_LANDMARKS}"
    assert trc["row_width"] == {2 + 3 * N_LANDMARKS}
    np.testing.assert_array_equal(trc["frame"], np.arange(1, n + 1))
    assert max_abs(trc["time"], seq.time_s) <= 5e-7
    assert max_abs(trc["time"], angles["time_s"]) <= 5e-5 + 1e-9
    assert max_abs(trc["xyz"], want) <= 1e-4
    from_csv = expected_mm(read_landmarks_csv(analysed / "landmarks.csv", n))
    assert max_abs(trc["xyz"], from_csv) <= 0.05 + 1e-6

    # The frame means what it says on a front-view squat: Y up, X to the image's right
    # (the subject's left), Z toward the camera (the nose in front of the hips).
    med = np.nanmedian(trc["xyz"], axis=0)
    ys = [med[JOINTS[j]["left"], 1] for j in ("shoulder", "hip", "knee", "ankle")]
    assert ys == sorted(ys, reverse=True)
    assert med[JOINTS["hip"]["left"], 0] > med[JOINTS["hip"]["right"], 0]
    assert med[LANDMARK_NAMES.index("nose"), 2] > 0

    # MOT: OpenSim storage header, time column, one column per angle and side.
    mot = read_mot(analysed / "angles.mot")
    assert mot["name"] == "angles.mot"
    assert mot["keys"]["version"] == "1" and mot["keys"]["inDegrees"] == "yes"
    assert int(mot["keys"]["nRows"]) == n == len(mot["data"])
    assert int(mot["keys"]["nColumns"]) == len(mot["columns"])
    want_cols = [k.removesuffix("_deg") for k in angles if k.endswith("_deg")]
    assert mot["columns"] == ["time", *want_cols]
    assert {"left_knee_flexion", "right_knee_flexion", "left_fppa", "right_fppa"} <= set(want_cols)
    assert max_abs(mot["data"][:, 0], angles["time_s"]) == 0
    for i, name in enumerate(want_cols, start=1):
        assert max_abs(mot["data"][:, i], angles[f"{name}_deg"]) == 0, name

    # C3D, read with ezc3d (written with c3d).
    import ezc3d

    c3d = ezc3d.c3d(str(analysed / "landmarks.c3d"))
    point = c3d["parameters"]["POINT"]
    assert tuple(point["LABELS"]["value"]) == LANDMARK_NAMES
    assert point["RATE"]["value"][0] == pytest.approx(fps, rel=1e-6)
    assert c3d["header"]["points"]["frame_rate"] == pytest.approx(fps, rel=1e-6)
    assert point["UNITS"]["value"] == ["mm"]
    assert point["Y_SCREEN"]["value"] == ["+Y"]
    assert c3d["data"]["points"].shape == (4, N_LANDMARKS, n)
    points = np.transpose(c3d["data"]["points"][:3], (2, 1, 0))
    assert max_abs(points, want) <= 1e-3

    # netCDF, read with SciPy's netCDF-3 reader (no xarray), then with xarray.
    from scipy.io import netcdf_file

    with netcdf_file(analysed / "landmarks.nc", "r", mmap=False) as nc:
        assert nc.dimensions["time"] == n
        assert nc.variables["position"].dimensions == ("time", "space", "keypoints", "individuals")
        assert nc.variables["confidence"].dimensions == ("time", "keypoints", "individuals")
        names = [b"".join(r).decode() for r in nc.variables["keypoints"][:]]
        assert tuple(names) == LANDMARK_NAMES
        assert float(nc.fps) == pytest.approx(fps)
        assert nc.ds_type == b"poses" and nc.space_unit == b"m"
        pos = np.array(nc.variables["position"][:], dtype=float)[..., 0].transpose(0, 2, 1)
        conf = np.array(nc.variables["confidence"][:], dtype=float)[..., 0]
        time = np.array(nc.variables["time"][:], dtype=float)
    assert max_abs(pos * 1000.0, want) <= 1e-3
    assert max_abs(conf, seq.visibility) == 0
    assert max_abs(time, seq.time_s) == 0

    import xarray as xr

    with xr.open_dataset(analysed / "landmarks.nc") as ds:
        assert dict(ds.sizes) == {"time": n, "space": 3, "keypoints": 33, "individuals": 1}
        assert list(ds.space.values) == ["x", "y", "z"]
        left_knee = ds.position.sel(keypoints="left_knee", individuals="id_0").values
        knee = JOINTS["knee"]["left"]
        assert max_abs(left_knee * 1000.0, want[:, knee]) <= 1e-3
        assert ds.attrs["time_unit"] == "seconds"
