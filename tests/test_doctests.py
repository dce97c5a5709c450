"""The examples in the docstrings run and give what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "kneevision.kinematics.angles",
        "kneevision.kinematics.flexion",
        "kneevision.metrics",
        "kneevision.api",
    ],
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
