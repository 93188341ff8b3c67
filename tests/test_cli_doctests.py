"""The docstring examples of the command line's modules run and stay true.

pytest's ``--doctest-modules`` collects the ``vaeanomaly`` folder; ``cli/``
is installed as ``vaeanomaly.cli`` from another folder, so its examples are
run here, imported by their installed names.
"""

import doctest
import importlib
import pkgutil

import pytest

import vaeanomaly.cli

MODULES = sorted(
    f"vaeanomaly.cli.{info.name}"
    for info in pkgutil.iter_modules(vaeanomaly.cli.__path__)
    if info.name != "__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_examples_are_there():
    attempted = 0
    for name in MODULES:
        finder = doctest.DocTestFinder()
        attempted += sum(
            len(test.examples) for test in finder.find(importlib.import_module(name))
        )
    assert attempted >= 10
