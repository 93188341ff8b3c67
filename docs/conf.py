"""Sphinx configuration of the vaeanomaly documentation.

Build it with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(``pip install -e ".[docs]"``). The build needs no network: the examples run
on data that ships in ``examples/data`` or that they make, and no other
project's inventory is fetched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import vaeanomaly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
# The examples and the CLI read the number of threads from here; one thread
# keeps the gallery's timings steady.
os.environ.setdefault("OMP_NUM_THREADS", "1")

project = "vaeanomaly"
author = "vaeanomaly developers"
copyright = "vaeanomaly developers"
release = vaeanomaly.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_click",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

# Option names such as --output stay two hyphens, not a dash.
smartquotes = False

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# Our own objects must resolve: a broken reference to one fails the build.
# Names of other projects (numpy, pandas, torch, scikit-learn types in
# signatures and docstrings) are not linked: no inventory is fetched.
nitpicky = True
nitpick_ignore_regex = [
    # Private objects (an underscore) are not documented; a docstring may
    # still name one for the reader of the code.
    (r"py:.*", r"vaeanomaly\._.*"),
    (
        r"py:.*",
        r"(numpy|np|pandas|pd|torch|sklearn|scipy|dask|matplotlib|click|joblib|jinja2)(\..*)?",
    ),
    (
        r"py:.*",
        r"(array-like|ndarray|DataFrame|Series|Tensor|Distribution|path-like|file-like|callable|optional|default|of|or|shape|int|float|str|bool|dict|list|tuple|sequence|mapping|iterable|None|object|Any|type|bytes|Path|\{.*|.*\}|\".*\"|'.*'|\(.*|.*\))",
    ),
]

templates_path = ["_templates"]
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/.*\.py$",
    "ignore_pattern": r"make_machine_data\.py",
    "plot_gallery": "True",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    "run_stale_examples": True,
    "min_reported_time": 1,
}

html_theme = "pydata_sphinx_theme"
html_title = f"vaeanomaly {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}


#: Methods that scikit-learn adds to every estimator for metadata routing:
#: not ours, and their docstrings point into scikit-learn's own site.
_SKLEARN_PLUMBING = ("get_metadata_routing", "set_output")


def _skip_plumbing(app, what, name, obj, skip, options):
    """Leave scikit-learn's metadata-routing methods out of our pages."""
    if name in _SKLEARN_PLUMBING or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return None


def _resolve_short_names(app, env, node, contnode):
    """Resolve a short name (``window_view``, ``SequenceVAEDetector.drift``) of ours.

    Docstrings name our objects as their module sees them; the pages document
    them under their public path. A name that ends exactly one documented
    object's full name resolves to it; one that ends several, or none, stays
    unresolved, so nitpicky mode reports it.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    if target.startswith("vaeanomaly."):  # a module's own path to a re-exported name
        target = target.rsplit(".", 1)[-1]
    domain = env.get_domain("py")
    matches = {
        name
        for name, entry in domain.objects.items()
        if name.startswith("vaeanomaly.")
        and not entry.aliased
        and (name == target or name.endswith("." + target))
    }
    if len(matches) != 1:
        return None
    (full,) = matches
    return domain.resolve_xref(
        env, node["refdoc"], app.builder, "obj", full, node, contnode
    )


def setup(app):
    """Connect the two handlers above."""
    app.connect("autodoc-skip-member", _skip_plumbing)
    app.connect("missing-reference", _resolve_short_names)
