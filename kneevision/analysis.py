"""Landmarks → results → files: the protocol is evaluated once here, the summary built here.

Below the report, the live view and the API: this module imports neither
:mod:`kneevision.pipeline` (frames) nor :mod:`kneevision.report` (documents), which
both read what it produces.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kneevision import __version__, protocols
from kneevision.errors import KneeVisionError
from kneevision.kinematics.landmarks import SIDES
from kneevision.markers import MarkerTrack, marker_result
from kneevision.outputs import (
    SUMMARY_SCHEMA_VERSION,
    write_json,
    write_landmarks_csv,
    write_table_csv,
)
from kneevision.pose.forefoot import ForefootTrack
from kneevision.pose.model import ModelFile
from kneevision.pose.sequence import PoseSequence
from kneevision.protocols import Motion, Options, Result, prepare, seated_twist
from kneevision.protocols.validity import measured_errors
from kneevision.protocols.validity import source as validity_source
from kneevision.settings import Settings

#: Version of ``forefoot.npz``.
FOREFOOT_SCHEMA = 1


#: Tracks the forefeet of a seated twist seen from the front, given its motion (the
#: caller holds the clip's frames): see :func:`kneevision.pose.forefoot.track_forefeet`.
ForefootTracker = Callable[[Motion], "dict[str, ForefootTrack] | None"]


def _options(settings: Settings) -> Options:
    return Options(side=settings.side, valgus_warn_deg=settings.valgus_warn_deg)


def evaluate(
    seq: PoseSequence,
    settings: Settings,
    facts: dict | None = None,
    forefoot: dict[str, ForefootTrack] | None = None,
) -> tuple[Motion, Result]:
    """Landmarks → cleaned motion → protocol result (no I/O, no inference).

    Parameters
    ----------
    seq : PoseSequence
        A clip's landmarks (a fresh run, or a stored ``pose.npz``).
    settings : Settings
        Cleaning (visibility, gaps, smoothing), protocol, side and valgus threshold.
    facts : dict, optional
        Pose-run facts carried into the quality checks (person switches ...).
    forefoot : dict, optional
        Side → tracked toe points (a stored ``forefoot.npz``), for the seated twist.

    Returns
    -------
    (Motion, Result)
    """
    motion = prepare(
        seq,
        vis_threshold=settings.vis_threshold,
        max_gap_s=settings.max_gap_s,
        cutoff_hz=settings.cutoff_hz,
        facts=facts,
        forefoot=forefoot,
    )
    return motion, protocols.run(settings.protocol, motion, _options(settings))


def needs_forefoot(motion: Motion, result: Result) -> bool:
    """Whether a clip's tibial rotation would read better from its forefoot's pixels."""
    return (
        result.protocol == "seated-twist"
        and motion.view in seated_twist.FRONT_VIEWS
        and motion.forefoot is None
    )


def write_forefoot(folder: Path, tracks: dict[str, ForefootTrack]) -> None:
    """``forefoot.npz``: the tracked toe points, so that a reloaded folder reads the same."""
    arrays = {f"{side}_{name}": getattr(t, name) for side, t in tracks.items()
              for name in ("toe", "confidence")}  # fmt: skip
    np.savez_compressed(folder / "forefoot.npz", schema=np.int64(FOREFOOT_SCHEMA), **arrays)


def read_forefoot(folder: Path) -> dict[str, ForefootTrack] | None:
    """The tracked toe points of an analysis folder (None when it has none)."""
    path = folder / "forefoot.npz"
    if not path.is_file():
        return None
    with np.load(path) as z:
        if int(z["schema"]) > FOREFOOT_SCHEMA:
            raise KneeVisionError("forefoot.npz is newer than this KneeVision reads", path)
        return {side: ForefootTrack(z[f"{side}_toe"], z[f"{side}_confidence"]) for side in SIDES
                if f"{side}_toe" in z}  # fmt: skip


def write_result_files(folder: Path, result: Result) -> None:
    """``reps.csv``: one row per repetition and side (columns: union of the rows' keys)."""
    columns: list[str] = []
    for row in result.reps:
        columns += [k for k in row if k not in columns]
    write_table_csv(
        folder / "reps.csv", {c: [row.get(c) for row in result.reps] for c in columns or ["side"]}
    )


def angle_ranges(angles: dict[str, np.ndarray]) -> dict[str, dict | None]:
    """Min, max and median of each per-frame angle series (None when never measured)."""
    return {
        name: {"min": np.nanmin(v), "max": np.nanmax(v), "median": np.nanmedian(v)}
        if np.isfinite(v).any()
        else None
        for name, v in angles.items()
    }


def build_summary(
    seq: PoseSequence,
    result: Result,
    angles: dict[str, np.ndarray],
    facts: dict,
    settings: Settings,
    model: ModelFile,
    input_facts: dict,
    marker_track: MarkerTrack | None = None,
) -> dict:
    """The content of ``summary.json`` (without ``outputs``, which lists the folder)."""
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kneevision_version": __version__,
        "input": input_facts,
        "model": {"name": model.name, "sha256": model.sha256},
        "settings": settings.to_dict(),
        "frames_with_pose": seq.frames_with_pose,
        **result.to_dict(),
        "angles": angle_ranges(angles),
        "timing": {k: facts.get(k) for k in ("seconds", "fps")},
    }
    measured = measured_errors(result.protocol, result.view)
    if measured:
        summary["measured_error"] = {
            "source": validity_source(),
            "metrics": {k: v.to_dict() for k, v in measured.items()},
        }
    if marker_track is not None:
        markers = marker_result(marker_track)
        summary["markers"] = {**markers.to_dict(), "settings": marker_track.meta}
        summary["markers"]["markerless_minus_marker_deg"] = {
            side: result.sides[side][m]["value"] - markers.sides[side][m]["value"]
            for side in SIDES
            for m in ("internal_rotation_deg",)
            if result.sides.get(side, {}).get("tested") and markers.sides[side].get("tested")
        }
    return summary


def list_outputs(folder: Path) -> list[str]:
    """The files of an analysis folder, as ``summary.json`` lists them."""
    names = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    return sorted(names | {"summary.json"})


def write_summary(folder: Path, summary: dict) -> dict:
    """Write ``summary.json`` with the folder's current file list; the summary written."""
    summary = {**summary, "outputs": list_outputs(folder)}
    write_json(folder / "summary.json", summary)
    return summary


@dataclass
class StoredAnalysis:
    """An analysis folder read back: its summary and, with ``pose.npz``, the re-evaluation.

    Attributes
    ----------
    folder : Path
    summary : dict
        ``summary.json`` (schema checked).
    pose : PoseSequence, optional
        The stored landmarks (None for a combined result, which has none).
    motion, result : Motion, Result, optional
        The protocol evaluated on ``pose`` (again, with the stored settings, when read).
    angles : dict, optional
        The per-frame angle series of ``angles.csv``, when just evaluated.
    """

    folder: Path
    summary: dict
    pose: PoseSequence | None = None
    motion: Motion | None = None
    result: Result | None = None
    angles: dict[str, np.ndarray] | None = None


def write_outputs(
    folder: Path,
    seq: PoseSequence,
    facts: dict,
    settings: Settings,
    model: ModelFile,
    input_facts: dict,
    marker_track: MarkerTrack | None = None,
    forefoot: ForefootTracker | None = None,
) -> StoredAnalysis:
    """Evaluate a pose sequence once and write the analysis files into ``folder``.

    ``forefoot``: for a seated twist seen from the front, the tracker of its forefeet;
    with the toe points it gives, the protocol runs again on the same motion (the one
    case that reads the clip's pixels after inference), and ``forefoot.npz`` keeps them.

    Shared by a clip's analysis and a live session: pose.npz, landmarks.csv,
    angles.csv, reps.csv, markers.csv (with ``marker_track``) and summary.json.
    The report and the exports are written afterwards from these files
    (:func:`kneevision.api.finish_folder`).

    Returns
    -------
    StoredAnalysis
        The summary written, the pose, motion and protocol result, and the per-frame
        angle series: what the report needs, so that it does not evaluate again.
    """
    motion, result = evaluate(seq, settings, facts)
    if forefoot is not None and needs_forefoot(motion, result):
        tracks = forefoot(motion)
        if tracks:
            motion = dataclasses.replace(motion, forefoot=tracks)
            result = protocols.run(settings.protocol, motion, _options(settings))
            write_forefoot(folder, tracks)
    angles = {**motion.angles, **result.series}
    if marker_track is not None:
        markers = marker_result(marker_track)
        write_table_csv(
            folder / "markers.csv",
            {"time_s": marker_track.time_s, **markers.series}
            | {f"marker_{i}_seen": v.astype(int) for i, v in marker_track.seen.items()},
        )
    seq.save(folder / "pose.npz")
    write_landmarks_csv(folder / "landmarks.csv", seq)
    write_table_csv(
        folder / "angles.csv", {"frame": np.arange(len(seq)), "time_s": seq.time_s, **angles}
    )
    write_result_files(folder, result)
    summary = build_summary(seq, result, angles, facts, settings, model, input_facts, marker_track)
    return StoredAnalysis(folder, write_summary(folder, summary), seq, motion, result, angles)


# --- reading an analysis folder back ------------------------------------------------------


def stored_settings(summary: dict, *, as_found: bool = True) -> Settings:
    """The settings an analysis was made with (names this version does not know dropped).

    ``as_found``: with the protocol the analysis found (``auto`` resolved), else as asked.
    """
    known = {f.name for f in dataclasses.fields(Settings)}
    settings = Settings.from_dict({k: v for k, v in summary.get("settings", {}).items()
                                   if k in known})  # fmt: skip
    return dataclasses.replace(settings, protocol=summary["protocol"]) if as_found else settings


def read_summary(folder: str | Path) -> dict:
    """``summary.json`` of an analysis folder, refusing one this version cannot read.

    Raises
    ------
    KneeVisionError
        No summary, invalid JSON, an old schema without protocols, or a newer schema.
    """
    folder = Path(folder)
    path = folder / "summary.json"
    if not path.is_file():
        raise KneeVisionError("not an analysis folder (no summary.json)", folder)
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise KneeVisionError(f"summary.json is not valid JSON ({exc})", path) from None
    version = summary.get("schema_version")
    # An unversioned summary (hand-made, in tests) is read as the current schema.
    if version is not None and (not isinstance(version, int) or version > SUMMARY_SCHEMA_VERSION):
        raise KneeVisionError(
            f"summary.json has schema version {version!r}, newer than this KneeVision "
            f"{__version__} reads ({SUMMARY_SCHEMA_VERSION}): update KneeVision",
            path,
        )
    if "protocol" not in summary:
        raise KneeVisionError("summary.json predates protocols (schema 1): analyse again", folder)
    return summary


def rescore(folder: str | Path) -> StoredAnalysis:
    """Evaluate a stored analysis again with this version's protocols, in place (no inference).

    For developers re-scoring renders after a change to the kinematics or a protocol
    (``kneevision validate --reuse --rescore``): the protocol asked for is run again
    on ``pose.npz`` (and ``forefoot.npz``), and the result files and ``summary.json``
    are written anew. Run facts that only the pose pass knew (person switches) are
    not stored, so their flags are not raised again.

    Raises
    ------
    KneeVisionError
        The folder has no stored landmarks.
    """
    folder = Path(folder)
    stored = load_analysis(folder, reevaluate=False)
    if stored.pose is None:
        raise KneeVisionError("no pose.npz to evaluate again", folder)
    summary = stored.summary
    settings = stored_settings(summary, as_found=False)
    inputs = summary["input"]
    facts = {"decoding": inputs.get("decoding"), "upright_turn": inputs.get("upright_turn"),
             **summary.get("timing", {})}  # fmt: skip
    model = ModelFile(summary["model"]["name"], Path(), summary["model"]["sha256"])
    tracks = read_forefoot(folder)
    return write_outputs(folder, stored.pose, facts, settings, model, inputs,
                         forefoot=(lambda motion: tracks) if tracks else None)  # fmt: skip


def load_analysis(folder: str | Path, *, reevaluate: bool = True) -> StoredAnalysis:
    """Read an analysis folder (no inference): the one loader of stored results.

    Parameters
    ----------
    folder : path
        A ``<clip>_kneevision/`` folder.
    reevaluate : bool
        Also evaluate the protocol again on ``pose.npz`` (for per-frame series).

    Raises
    ------
    KneeVisionError
        The folder is not an analysis this version can read.
    """
    folder = Path(folder)
    summary = read_summary(folder)
    out = StoredAnalysis(folder, summary)
    if (folder / "pose.npz").is_file():
        out.pose = PoseSequence.load(folder / "pose.npz")
        if reevaluate:
            out.motion, out.result = evaluate(
                out.pose, stored_settings(summary), forefoot=read_forefoot(folder)
            )
    return out
