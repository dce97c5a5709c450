"""The Python API: analyse a clip, or load an analysis folder, as an :class:`Analysis`.

>>> import kneevision
>>> a = kneevision.analyze("squat.mp4", model="lite", overlay=False)  # doctest: +SKIP
>>> a.summary.protocol, a.angles["left_knee_flexion_deg"].max()  # doctest: +SKIP
>>> b = kneevision.load(a.folder)  # doctest: +SKIP

The top layer: it runs :mod:`kneevision.pipeline` (frames → landmarks), then
:mod:`kneevision.analysis` (landmarks → results and files), then the report and the
exports. The command line is a thin layer on it.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kneevision import __version__
from kneevision.analysis import (
    ForefootTracker,
    StoredAnalysis,
    load_analysis,
    write_outputs,
    write_result_files,
    write_summary,
)
from kneevision.errors import KneeVisionError, NoPoseError
from kneevision.outputs import SUMMARY_SCHEMA_VERSION, atomic_dir, output_dir_for
from kneevision.pose.forefoot import ForefootTrack, track_forefeet
from kneevision.pose.model import ModelFile
from kneevision.pose.sequence import PoseSequence
from kneevision.protocols import Motion, Result
from kneevision.protocols.seated_twist import still_frames
from kneevision.settings import Settings
from kneevision.summary import Summary
from kneevision.video.source import (
    VideoInfo,
    check_decoding,
    probe_source,
    read_source,
    source_sha256,
)

ProgressFactory = Callable[[int, str], Callable[[int], None]]


class Table:
    """A small column table read from a CSV file (numbers as float arrays, NaN when empty).

    Parameters
    ----------
    columns : dict of str to ndarray
        Equal-length columns, in order.
    """

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self._columns = columns

    @classmethod
    def read_csv(cls, path: str | Path) -> Table:
        """Read a KneeVision CSV (``angles.csv``, ``reps.csv``)."""
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            return cls({})
        names, body = rows[0], rows[1:]
        columns = {}
        for j, name in enumerate(names):
            cells = [r[j] if j < len(r) else "" for r in body]
            try:
                columns[name] = np.array([float(c) if c else math.nan for c in cells])
            except ValueError:  # flags (valgus_warning) as booleans, text (side, partial)
                flags = {"True": True, "False": False, "": None}
                if all(c in flags for c in cells):
                    columns[name] = np.array([flags[c] for c in cells], dtype=object)
                else:
                    columns[name] = np.array([c or None for c in cells], dtype=object)
        return cls(columns)

    @property
    def columns(self) -> list[str]:
        """Column names, in order."""
        return list(self._columns)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def rows(self) -> Iterator[dict[str, Any]]:
        """One dict per row."""
        for i in range(len(self)):
            yield {k: v[i] for k, v in self._columns.items()}

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` (pandas must be installed)."""
        import pandas as pd

        return pd.DataFrame(self._columns)

    def __repr__(self) -> str:
        return f"Table({len(self)} rows: {', '.join(self.columns)})"


@dataclass
class Analysis:
    """One analysis: its folder and what it measured.

    Attributes
    ----------
    folder : Path
        The ``<clip>_kneevision/`` folder holding every output.
    summary : Summary
        ``summary.json`` as typed objects.
    pose : PoseSequence, optional
        The landmarks (``pose.npz``); None for a combined result.
    result : Result, optional
        The protocol's result when evaluated in this process (``analyze``), else None.
    """

    folder: Path
    summary: Summary = dataclasses.field(repr=False)
    pose: PoseSequence | None = dataclasses.field(default=None, repr=False)
    result: Result | None = dataclasses.field(default=None, repr=False)

    @property
    def out_dir(self) -> Path:
        """Alias of :attr:`folder`."""
        return self.folder

    @cached_property
    def angles(self) -> Table:
        """Per-frame angles (``angles.csv``): ``frame``, ``time_s``, one column per angle."""
        return Table.read_csv(self.folder / "angles.csv")

    @cached_property
    def reps(self) -> Table:
        """One row per repetition and side (``reps.csv``)."""
        return Table.read_csv(self.folder / "reps.csv")

    def report(self) -> tuple[Path, Path]:
        """Write (or rebuild) ``report.html`` and ``report.pdf``; their paths."""
        from kneevision.report.document import write_report

        return write_report(self.folder)


def load(folder: str | Path) -> Analysis:
    """Load an analysis folder written by ``analyze`` (no inference).

    Parameters
    ----------
    folder : path
        A ``<clip>_kneevision/`` folder.

    Returns
    -------
    Analysis

    Raises
    ------
    KneeVisionError
        Not an analysis folder, or one written by a newer KneeVision.
    """
    stored = load_analysis(folder, reevaluate=False)
    return Analysis(stored.folder, Summary.from_json(stored.summary), stored.pose)


def analyze(
    path: str | Path,
    *,
    out: str | Path | None = None,
    progress: ProgressFactory | None = None,
    **settings: Any,
) -> Analysis:
    """Analyse one clip (a video file or a folder of images) into its output folder.

    Parameters
    ----------
    path : path
        The clip.
    out : path, optional
        Folder receiving ``<stem>_kneevision/`` (default: beside the clip).
    progress : callable, optional
        ``(total_frames, label) → update(n)``, e.g. a tqdm bar.
    **settings
        Any :class:`~kneevision.settings.Settings` field (``model="lite"``,
        ``protocol="squat"``, ``export=("trc", "mot")`` ...). ``reserve_core``
        defaults to False here: a library call leaves the process's CPU affinity
        alone unless asked (the command line reserves cores).

    Returns
    -------
    Analysis

    Raises
    ------
    KneeVisionError
        An invalid setting (before any inference), a bad video, no person found.
    """
    from kneevision.pose.model import resolve_model

    chosen = Settings.from_dict({"reserve_core": False, **settings})
    return analyze_clip(path, resolve_model(chosen.model), chosen, out_root=out,
                        progress_factory=progress)  # fmt: skip


def sample_clip() -> Path:
    """The CC0 sample clip shipped with KneeVision (a goblet squat filmed from the front).

    Raises
    ------
    KneeVisionError
        The installation lacks it.
    """
    pkg = Path(__file__).resolve().parent
    for folder in (pkg / "_data" / "samples", pkg.parent / "samples"):
        clip = folder / "front_goblet_squat_home_A.mp4"
        if clip.is_file():
            return clip
    raise KneeVisionError("the bundled sample clip is missing from this installation")


def evaluate(pose: PoseSequence, **settings: Any) -> Result:
    """Evaluate a protocol on landmarks alone (no video, no files), e.g. a synthetic scene.

    Parameters
    ----------
    pose : PoseSequence
        Landmarks, e.g. from :func:`load` (``.pose``) or :mod:`kneevision.synthetic`.
    **settings
        :class:`~kneevision.settings.Settings` fields (``protocol``, ``cutoff_hz`` ...).

    Returns
    -------
    Result
        What the protocol found (``sides``, ``reps``, ``asymmetry`` ...).
    """
    from kneevision.analysis import evaluate as evaluate_settings

    return evaluate_settings(pose, Settings.from_dict(settings))[1]


def check_exports(settings: Settings) -> None:
    """Refuse ``export`` formats this installation cannot write, before any inference."""
    if not settings.export:
        return
    try:
        from kneevision.export import parse_formats, write_exports  # noqa: F401
    except ImportError as exc:
        raise KneeVisionError(
            f"cannot export {', '.join(settings.export)}: the kneevision.export package is "
            f"missing or broken ({exc})"
        ) from None
    parse_formats(settings.export)
    if "nc" in settings.export:  # the one format with an optional package
        from kneevision.export.movement import require_xarray

        require_xarray()


def finish_folder(done: StoredAnalysis, settings: Settings) -> dict:
    """After the analysis files: the report and the exports, then the final file list.

    The report is drawn from the evaluation just made (``done``), not a second one.

    Returns
    -------
    dict
        The summary as finally written.
    """
    summary = done.summary
    if settings.report:
        from kneevision.report.document import write_report

        write_report(done.folder, done)
    if settings.export:
        from kneevision.export import write_exports

        write_exports(done.folder, settings.export)
    if settings.report or settings.export:
        summary = write_summary(done.folder, summary)
    return summary


def forefoot_tracker(
    video: Path,
    seq: PoseSequence,
    settings: Settings,
    model: ModelFile,
    info: VideoInfo,
    progress_factory: ProgressFactory | None = None,
) -> ForefootTracker:
    """What reads a seated twist's forefeet from the clip's pixels (a second decoding pass).

    ``progress_factory``: a bar for that pass, labelled ``<clip> (forefeet)``.
    """

    def track(motion: Motion) -> dict[str, ForefootTrack] | None:
        bar = progress_factory(len(seq), f"{video.name} (forefeet)") if progress_factory else None

        def decoded() -> Iterator[np.ndarray]:
            for f in read_source(video, settings.image_fps):
                if bar is not None:
                    bar(1)
                yield f.image

        still = still_frames(motion.time_s)
        return track_forefeet(decoded(), seq.image, still, mask_model=model,
                              pixel_aspect=info.pixel_aspect)  # fmt: skip

    return track


def analyze_clip(
    video: str | Path,
    model: ModelFile,
    settings: Settings | None = None,
    *,
    out_root: str | Path | None = None,
    progress_factory: ProgressFactory | None = None,
) -> Analysis:
    """Analyse one clip with a verified model and write its output folder (atomically).

    What :func:`analyze` and the command line run. Settings are taken as given
    (``reserve_core`` included).

    Raises
    ------
    KneeVisionError
        Bad video, no person found, unwritable output. Nothing is left behind.
    """
    from kneevision.pipeline import marker_observer, run_pose

    settings = settings or Settings()
    check_exports(settings)
    video = Path(video)
    info = probe_source(video, settings.image_fps)
    final = output_dir_for(video, out_root).absolute()
    observer = marker_observer(info, settings) if settings.markers else None
    progress = progress_factory(info.frames, video.name) if progress_factory else None
    with atomic_dir(final) as tmp:
        seq, facts = run_pose(
            video,
            model,
            settings,
            overlay_path=tmp / "overlay.mp4" if settings.overlay else None,
            info=info,
            progress=progress,
            markers=observer,
        )
        if seq.frames_with_pose == 0 and not settings.markers:  # markers work on close-ups
            raise NoPoseError("no person found in any frame", video)
        decoding = check_decoding(video, info, seq.time_s)
        facts |= {"decoding": decoding, "upright_turn": info.upright_turn}
        input_facts = {
            "path": str(video.resolve()),
            "sha256": source_sha256(video),
            **{k: v for k, v in info.to_dict().items() if k != "path"},
            "frames_decoded": len(seq),
            "decoding": decoding,
        }
        track = observer.track() if observer is not None else None
        feet = forefoot_tracker(video, seq, settings, model, info, progress_factory)
        done = write_outputs(
            tmp, seq, facts, settings, model, input_facts, marker_track=track, forefoot=feet
        )
        summary = finish_folder(done, settings)
    return Analysis(final, Summary.from_json(summary), seq, done.result)


def combine_seated_twist(analyses: list[Analysis], out_root: str | Path | None = None) -> Analysis:
    """Merge per-leg seated twist clips into ``seated-twist_combined_kneevision/``.

    Each clip contributes the legs it shows twisting; the left–right comparison is
    made across clips.
    """
    from kneevision.protocols.seated_twist import merge

    results = [a.result for a in analyses]
    if any(r is None for r in results):
        raise KneeVisionError("only analyses made in this process can be combined")
    merged = merge(results)
    root = Path(out_root) if out_root else analyses[0].folder.parent
    final = (root / "seated-twist_combined_kneevision").absolute()
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kneevision_version": __version__,
        "inputs": [a.summary.input.to_json() for a in analyses if a.summary.input],
        "clips": [str(a.folder) for a in analyses],
        **merged.to_dict(),
    }
    settings = Settings.from_dict(
        {k: v for k, v in analyses[0].summary.settings.items() if k != "export"}
    )
    with atomic_dir(final) as tmp:
        write_result_files(tmp, merged)
        summary = write_summary(tmp, summary)
        if settings.report:
            from kneevision.report.document import write_report

            write_report(tmp)
            summary = write_summary(tmp, summary)
    return Analysis(final, Summary.from_json(summary), None, merged)


__all__ = [
    "Analysis",
    "Table",
    "analyze",
    "analyze_clip",
    "combine_seated_twist",
    "evaluate",
    "load",
    "sample_clip",
]
