"""Errors a user can act on.

Every error the command line reports is a :class:`KneeVisionError`: it names the
file (when there is one) and the problem in one line, and the CLI prints exactly
that line instead of a traceback (unless ``--debug``).
"""

from __future__ import annotations

from pathlib import Path


class KneeVisionError(Exception):
    """A problem with the user's input, model or output location.

    Parameters
    ----------
    problem : str
        What is wrong, in words a user understands.
    path : str or Path, optional
        The file or folder concerned; prefixed to the message.
    """

    def __init__(self, problem: str, path: str | Path | None = None) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class VideoError(KneeVisionError):
    """A video that cannot be opened, decoded or is unusable."""


class ModelError(KneeVisionError):
    """A pose model that is missing, corrupt or cannot be fetched."""


class NoPoseError(KneeVisionError):
    """No person was found in a clip."""


class OutputError(KneeVisionError):
    """An output location that cannot be written."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (SIGTERM) while writing its outputs.

    A ``KeyboardInterrupt``, so whatever handles Ctrl-C (cleanup, the command
    line's one-line "interrupted" and exit code 130) handles it the same way.
    """
