"""``python -m kneevision``."""

from kneevision.cli import run

run()
