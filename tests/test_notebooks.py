"""The notebooks are stored without outputs (they are executed by the suite via nbmake)."""

from __future__ import annotations

import json

from tests.helpers import REPO


def test_notebooks_are_stored_without_outputs():
    books = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert {b.name for b in books} >= {"walkthrough.ipynb", "synthetic_validation.ipynb"}
    for book in books:
        cells = json.loads(book.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        assert code, book.name
        assert all(not c["outputs"] and c["execution_count"] is None for c in code), book.name
