"""``python -m kneevision.web serve|users`` (what ``kneevision serve|users`` run)."""

import sys

from kneevision.web.cli import main

sys.exit(main())
