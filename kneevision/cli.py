"""Command line: ``kneevision analyze | live | batch | db | report | markers | demo``.

Errors a user can fix are printed as one line naming the file and the problem,
with exit code 1 (2 for usage errors); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kneevision import __version__
from kneevision.errors import KneeVisionError
from kneevision.outputs import terminate_as_interrupt

if TYPE_CHECKING:
    from kneevision.summary import Summary

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def bundled_sample() -> Path:
    """The CC0 sample clip shipped with KneeVision (checkout or installed wheel)."""
    from kneevision.api import sample_clip

    return sample_clip()


def _settings(args: argparse.Namespace):
    """The settings of a parsed ``analyze``/``batch``/``live`` command line.

    Defaults < ``--config`` file < options; an invalid value is a one-line error
    naming the setting, raised before any model is loaded.
    """
    from kneevision.settings import from_args

    return from_args(args, args.command if args.command in ("batch", "live") else "analyze")


def _progress_bars(quiet: bool):
    """``(make, close)``: ``make(total, label)`` opens a bar and returns its update
    function (the ``progress_factory`` :func:`kneevision.api.analyze_clip` calls);
    ``close()`` ends the open bars. Bars hide themselves when stderr is not a terminal."""
    from tqdm import tqdm

    open_bars: list = []

    def make(total: int, label: str):
        bar = tqdm(
            total=total or None,
            desc=label,
            unit="frame",
            leave=False,
            disable=True if quiet else None,
            dynamic_ncols=True,
        )
        open_bars.append(bar)
        return bar.update

    def close() -> None:
        while open_bars:
            open_bars.pop().close()

    return make, close


def format_result(summary: Summary | dict, out_dir: Path | None = None) -> str:
    """A short human summary of one analysis: protocol, view, reps, key numbers, flags.

    Parameters
    ----------
    summary : Summary or dict
        The analysis' summary (its JSON form is read through the typed contract).
    out_dir : Path, optional
        The analysis folder, printed last.

    Returns
    -------
    str
        Lines for the terminal; the marker measurement, when made, is included.
    """
    from kneevision.metrics import format_value, metric
    from kneevision.summary import Summary

    s = summary if isinstance(summary, Summary) else Summary.from_json(summary)
    how = "detected" if s.detection.requested == "auto" else "as asked"
    n_reps = {side: len(s.reps_of(side)) for side in ("left", "right")}
    lines = [
        f"✓ {s.clip_name}: {s.protocol} ({how}), view {s.view}, "
        f"reps left {n_reps['left']} / right {n_reps['right']}"
    ]
    left, right = s.side("left"), s.side("right")
    for m in s.side_metrics():
        lines.append(
            f"  {metric(m).label:<32} left {format_value(m, left.value(m)):>8}"
            f"  right {format_value(m, right.value(m)):>8}"
        )
    for m, stat in s.bilateral.items():
        if stat.measured and metric(m).unit != " s":
            lines.append(f"  {metric(m).label:<32} both {format_value(m, stat.value):>8}")
    for m, a in s.asymmetry.items():
        if a.mdc is not None:
            lines.append(f"  ⇄ {metric(m).label}: {a.verdict}")
    flags = [f.message for f in s.quality]
    markers = s.markers_summary()
    if markers is not None:
        for side in ("left", "right"):
            ms = markers.side(side)
            if ms.facts.get("tested"):
                ir = format_value("internal_rotation_deg", ms.value("internal_rotation_deg"))
                er = format_value("external_rotation_deg", ms.value("external_rotation_deg"))
                lines.append(f"  markers {side:<5} IR {ir}  ER {er}")
        for m, a in markers.asymmetry.items():
            lines.append(f"  ⇄ markers {metric(m).label}: {a.verdict}")
        flags += [f.message for f in markers.quality]
    lines += [f"  ! {message}" for message in flags]
    if out_dir is not None:
        lines.append(f"  → {out_dir}")
    return "\n".join(lines)


def _print_result(analysis, out=sys.stdout) -> None:
    print(format_result(analysis.summary, analysis.out_dir), file=out)


def _for_each(items: list[str], work, args: argparse.Namespace, noun: str) -> tuple[list, int]:
    """Run ``work(item)`` on each item; a failing item gets one error line, the rest go on.

    Returns the results of the items that worked and the number that failed, after
    printing "N of M <noun> failed" when several were given.
    """
    done, failed = [], 0
    for item in items:
        try:
            done.append(work(item))
        except KneeVisionError as exc:
            failed += 1
            if args.debug:
                raise
            print(f"kneevision: error: {exc}", file=sys.stderr)
    if len(items) > 1 and failed:
        print(f"kneevision: {failed} of {len(items)} {noun} failed", file=sys.stderr)
    return done, failed


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse each clip; a bad clip is reported and the others go on."""
    from kneevision.api import analyze_clip, check_exports
    from kneevision.pose.model import resolve_model

    settings = _settings(args)
    check_exports(settings)
    model = resolve_model(settings.model)
    make_bar, close_bars = _progress_bars(args.quiet)

    def one(clip: str):
        try:
            result = analyze_clip(
                clip, model, settings, out_root=args.out, progress_factory=make_bar
            )
        finally:
            close_bars()
        if not args.quiet:
            _print_result(result)
        return result

    done, failed = _for_each(args.videos, one, args, "clips")
    if settings.protocol == "seated-twist" and len(done) > 1:
        from kneevision.api import combine_seated_twist

        combined = combine_seated_twist(done, out_root=args.out)
        if not args.quiet:
            print(format_result(combined.summary, combined.out_dir))
    return EXIT_FAILED if failed else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild report.html and report.pdf of analysis folders from their stored outputs."""
    from kneevision.report.document import write_report

    if args.patient:
        from kneevision.report.history import write_history_report

        if not args.db:
            raise KneeVisionError("--patient needs --db DATABASE")
        out = write_history_report(args.db, args.patient, args.out)
        if not args.quiet:
            print(f"✓ {out}")
        return EXIT_OK
    if not args.folders:
        raise KneeVisionError("give analysis folder(s), or --patient ID --db DATABASE")

    def one(folder: str):
        html_path, pdf_path = write_report(folder)
        if not args.quiet:
            print(f"✓ {html_path}\n✓ {pdf_path}")

    _, failed = _for_each(args.folders, one, args, "folders")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_live(args: argparse.Namespace) -> int:
    """Live check from a webcam (or a file played as one)."""
    from kneevision.live import run_live
    from kneevision.pose.model import resolve_model

    if args.camera is not None and args.source is not None:
        print("kneevision: error: use --camera or --source, not both", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(args)
    model = resolve_model(settings.model)
    out_dir, summary, _ = run_live(
        model,
        settings,
        camera=args.camera,
        source=args.source,
        record=args.record,
        headless=args.headless,
        out_root=args.out,
        max_seconds=args.seconds,
        every_frame=args.every_frame,
    )
    if not args.quiet:
        print(format_result(summary, out_dir))
        live = summary.input.live if summary.input else None
        if live is not None and None not in (live.latency_ms_p50, live.latency_ms_p95):
            p50, p95 = live.latency_ms_p50, live.latency_ms_p95
            print(
                f"  live: {live.frames} frames shown, latency p50 {p50:.0f} ms / p95 "
                f"{p95:.0f} ms, {live.dropped} stale frames skipped"
            )
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    """Analyse a folder or manifest of clips into the patient database."""
    from tqdm import tqdm

    from kneevision.batch import run_batch

    settings = _settings(args)
    bar = tqdm(total=None, unit="clip", disable=True if args.quiet else None, dynamic_ncols=True)

    def progress(result, left: int) -> None:
        bar.total = result.done + result.failed + result.skipped + left
        bar.n = result.done + result.failed + result.skipped
        bar.set_postfix(done=result.done, failed=result.failed, skipped=result.skipped)
        bar.refresh()

    try:
        result = run_batch(
            args.input,
            args.db,
            settings,
            out_root=args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=progress,
        )
    finally:
        bar.close()
    for path, reason in result.failures.items():
        where = "" if path in reason else f"{path}: "
        print(f"kneevision: failed: {where}{reason}", file=sys.stderr)
    line = (
        f"{result.done} analysed, {result.skipped} already done, {result.failed} failed "
        f"(of {result.total} clips) → {args.db}"
    )
    print(line, file=sys.stderr if result.failed else sys.stdout)
    return EXIT_FAILED if result.failed else EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    """Look into the patient database: patients, a patient's history, CSV export."""
    import csv

    from kneevision.outputs import atomic_file
    from kneevision.store import Store

    if not Path(args.db).is_file():
        raise KneeVisionError("database not found", args.db)
    with Store(args.db) as store:
        if args.db_command == "patients":
            rows = store.patients()
            print(f"{'patient':<20} {'sessions':>8} {'trials':>6} {'failed':>6}  last session")
            for r in rows:
                failed = r["failed"] or 0
                print(
                    f"{r['id']:<20} {r['sessions']:>8} {r['trials']:>6} {failed:>6}  "
                    f"{r['last'] or '-'}"
                )
        elif args.db_command == "history":
            metrics = [args.metric] if args.metric else store.metrics_of(args.patient)
            if not metrics:
                raise KneeVisionError("no analysed sessions", f"patient {args.patient}")
            from kneevision.metrics import format_value, metric

            for m in metrics:
                print(f"{m} ({metric(m).label})")
                for r in store.history(args.patient, m):
                    v = format_value(m, r["value"])
                    print(f"  {r['date']}  {r['side']:<5} {v:>8}  (n={r['n']})")
            if args.plot:
                from kneevision.report.history import history_figure

                fig = history_figure(store, args.patient, metrics[0])
                with atomic_file(args.plot) as tmp:
                    fig.savefig(tmp, format="png", dpi=120)
                print(f"✓ {args.plot}")
        elif args.db_command == "export":
            n = 0
            with atomic_file(args.csv) as tmp, open(tmp, "w", newline="") as fh:
                w = csv.writer(fh)
                for row in store.export_rows():
                    w.writerow(row)
                    n += 1
            print(f"✓ {args.csv}: {max(n - 1, 0)} metric values")
    return EXIT_OK


def cmd_markers(args: argparse.Namespace) -> int:
    """Print the marker sheet or the calibration board; calibrate a camera."""
    from kneevision.markers import calibrate, write_board, write_sheet

    if args.markers_command == "calibrate":
        from tqdm import tqdm

        from kneevision.video.source import probe_source, read_source

        info = probe_source(args.source, args.image_fps)
        frames = tqdm(read_source(args.source, args.image_fps), total=info.frames,
                      desc="board", unit="frame", disable=None, leave=False)  # fmt: skip
        cal = calibrate(frames, args.square_mm, source=str(args.source))
        cal.save(args.out)
        f = cal.matrix[0, 0]
        fov = 2 * math.degrees(math.atan(cal.width / 2 / f))
        print(f"✓ {args.out}: {cal.width}x{cal.height}, focal {f:.0f} px "
              f"({fov:.1f}° horizontal field of view), {cal.views} views, "
              f"reprojection error {cal.rms_px:.2f} px")  # fmt: skip
        if cal.rms_px > 1.0:
            print("  ⚠ reprojection error above 1 px: film the board sharper, closer, "
                  "from more angles")  # fmt: skip
        print(f"  use it with: kneevision analyze CLIP --markers --intrinsics {args.out}")
        return EXIT_OK
    try:
        if args.markers_command == "board":
            out = write_board(args.out, args.square_mm)
        else:
            out = write_sheet(args.out, args.size_mm)
    except ValueError as exc:
        raise KneeVisionError(str(exc), args.out) from None
    print(f"✓ {out}: print at 100% and check the 50 mm bar")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Analyse the bundled sample clip."""
    args.videos = [str(bundled_sample())]
    if args.out is None:
        args.out = "kneevision-out"
    return cmd_analyze(args)


def _add_analysis_options(p: argparse.ArgumentParser, command: str = "analyze") -> None:
    """``--out``, ``-q`` and one option per setting (:class:`~kneevision.settings.Settings`)."""
    from kneevision.settings import add_arguments

    where = {
        "live": "where the session folder goes (default ./kneevision-live)",
        "batch": "where PATIENT/DATE/<clip>_kneevision/ folders go (default: kneevision-batch/ "
        "beside the database)",
    }
    p.add_argument(
        "--out",
        metavar="DIR",
        help=where.get(
            command,
            "folder receiving one <clip>_kneevision/ folder per clip (default: next to each clip)",
        ),
    )
    add_arguments(p, command)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="kneevision",
        description="Measure knee rotation and valgus from ordinary video. "
        "Everything runs on this machine; no video leaves it.",
    )
    parser.add_argument("--version", action="version", version=f"kneevision {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "analyze",
        help="analyse video clips",
        description="Analyse each clip: landmarks.csv, angles.csv, summary.json, pose.npz "
        "and overlay.mp4 in <clip>_kneevision/.",
    )
    p.add_argument(
        "videos",
        nargs="+",
        metavar="VIDEO",
        help="video file(s), or folder(s) of images taken in order (see --image-fps)",
    )
    _add_analysis_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser(
        "live",
        help="live check from a webcam, with the overlay on screen",
        description="Show the legs, knee angles, a valgus warning, a rep counter and "
        "left-right numbers live. Keys: q/Esc quit, space start/stop recording, "
        "c calibrate neutral (seated twist), m mirror the view. On exit the session is "
        "analysed like a clip (summary.json, angles.csv, ...).",
    )
    p.add_argument("--camera", type=int, metavar="N", help="webcam index (default 0)")
    p.add_argument(
        "--source", metavar="FILE", help="play a video file as if it were a camera (real time)"
    )
    p.add_argument("--record", metavar="OUT.mp4", help="record the overlay video from the start")
    p.add_argument(
        "--headless",
        action="store_true",
        help="no window: run the same loop and write the overlay video and summary",
    )
    p.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds of video")
    p.add_argument("--every-frame", action="store_true",
                   help="with --source: replay every frame, none dropped, as fast as they are "
                   "processed (results independent of the machine's speed)")  # fmt: skip
    p.add_argument(
        "--symmetric",
        dest="fast",
        action="store_false",
        default=argparse.SUPPRESS,
        help="also run the model on the mirror image of every frame (in a second thread) "
        "and average the two, so that left and right legs are measured alike, as "
        "'analyze' does by default; more CPU, a little more latency",
    )
    _add_analysis_options(p, "live")
    p.set_defaults(func=cmd_live)

    p = sub.add_parser(
        "report",
        help="rebuild the HTML and PDF report of analysed clips",
        description="Rebuild report.html and report.pdf in each <clip>_kneevision/ folder from "
        "its stored outputs (summary.json, pose.npz), without running pose estimation again.",
    )
    p.add_argument("folders", nargs="*", metavar="DIR", help="analysis folder(s)")
    p.add_argument("--patient", metavar="ID", help="a history report of one patient (with --db)")
    p.add_argument("--db", metavar="FILE", help="the patient database (kneevision batch --db)")
    p.add_argument(
        "--out", metavar="FILE", help="history report file (default <patient>_history.html)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "batch",
        help="analyse many patients' clips into a database",
        description="Analyse every clip of a folder (PATIENT/YYYY-MM-DD/clip.mp4) or CSV "
        "manifest (patient_id, session_date, path, protocol, side, notes) into a SQLite "
        "database. Clips already done with the same content and settings are skipped, so a "
        "stopped run can simply be started again. Nothing leaves this machine unless you "
        "point --scheduler at a cluster of your own.",
    )
    p.add_argument("input", metavar="INPUT", help="folder or .csv manifest")
    p.add_argument("--db", required=True, metavar="FILE", help="SQLite database (created if new)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes")
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on a Dask cluster (tcp://host:8786) instead"
    )
    _add_analysis_options(p, "batch")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("markers", help="printed markers for the precise seated twist test")
    msub = p.add_subparsers(dest="markers_command", metavar="COMMAND", required=True)
    q = msub.add_parser("print", help="write the A4 marker sheet (PDF, true scale)")
    q.add_argument("--size-mm", type=float, default=40.0, metavar="MM", dest="size_mm",
                   help="marker size (default 40; 30-50 work)")  # fmt: skip
    q.add_argument("--out", default="markers.pdf", metavar="PDF", help="default markers.pdf")
    q = msub.add_parser("board", help="write the A4 ChArUco camera-calibration board (PDF)")
    q.add_argument("--square-mm", type=float, default=30.0, metavar="MM", dest="square_mm",
                   help="square size (default 30)")  # fmt: skip
    q.add_argument("--out", default="board.pdf", metavar="PDF", help="default board.pdf")
    q = msub.add_parser(
        "calibrate",
        help="camera intrinsics from a clip (or image folder) of the printed board",
        description="Film the printed board (kneevision markers board) with the camera and "
        "zoom used for the tests, tilting it in all directions; writes the camera's focal "
        "length, centre and lens distortion for 'analyze --markers --intrinsics'.",
    )
    q.add_argument("source", metavar="VIDEO_OR_IMAGES", help="clip or folder of images")
    q.add_argument("--square-mm", type=float, default=30.0, metavar="MM", dest="square_mm",
                   help="printed square size, measured (default 30)")  # fmt: skip
    q.add_argument("--image-fps", type=float, default=30.0, dest="image_fps",
                   help=argparse.SUPPRESS)  # fmt: skip
    q.add_argument("--out", default="intrinsics.json", metavar="JSON",
                   help="default intrinsics.json")  # fmt: skip
    p.set_defaults(func=cmd_markers)

    p = sub.add_parser("db", help="look into the patient database")
    dbsub = p.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    q = dbsub.add_parser("patients", help="list patients with their sessions and trials")
    q.add_argument("--db", required=True, metavar="FILE")
    q = dbsub.add_parser("history", help="a patient's metrics over sessions, per side")
    q.add_argument("patient", metavar="PATIENT")
    q.add_argument("--db", required=True, metavar="FILE")
    q.add_argument("--metric", help="one metric (default: every stored metric)")
    q.add_argument("--plot", metavar="PNG", help="also plot the (first) metric to a PNG file")
    q = dbsub.add_parser("export", help="every metric value as a tidy CSV")
    q.add_argument("--db", required=True, metavar="FILE")
    q.add_argument("--csv", required=True, metavar="OUT", help="CSV file to write")
    p.set_defaults(func=cmd_db)

    from kneevision.digital_human.cli import add_parsers as add_render_parsers

    add_render_parsers(sub)

    from kneevision.web.cli import add_parsers as add_web_parsers

    add_web_parsers(sub)

    p = sub.add_parser(
        "demo",
        help="analyse the bundled sample clip",
        description="Analyse the bundled CC0 goblet-squat clip into ./kneevision-out (or --out).",
    )
    _add_analysis_options(p)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kneevision`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    if args.debug:
        os.environ["KNEEVISION_DEBUG"] = "1"
    try:
        # SIGTERM ends a run as Ctrl-C does: one line, temporary outputs removed.
        with terminate_as_interrupt():
            return args.func(args)
    except KneeVisionError as exc:
        if args.debug:
            raise
        print(f"kneevision: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("kneevision: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console entry point: ``main`` with native libraries' log lines kept off the terminal."""
    from kneevision._native import divert_native_stderr

    if "--debug" not in sys.argv:
        divert_native_stderr()
    sys.exit(main())


if __name__ == "__main__":
    run()
