"""The clinic's web app (``kneevision serve``): patients, uploads, a job queue, reports.

FastAPI + Jinja2 pages and a JSON API over one data folder shared with
``kneevision batch``/``db``. The rest of KneeVision is reached through
:mod:`kneevision.web.engine` only.
"""

from __future__ import annotations


def create_app(*args, **kwargs):
    """:func:`kneevision.web.app.create_app` (imported on use: ``--help`` stays quick)."""
    from kneevision.web.app import create_app as make

    return make(*args, **kwargs)


__all__ = ["create_app"]
