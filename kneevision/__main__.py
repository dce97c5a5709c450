"""``python -m kneevision``."""

import sys

from kneevision.cli import main

sys.exit(main())
