"""Sphinx configuration of the pimsim documentation (Markdown pages through MyST).

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (a test does this with ``-W``).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the sim package
sys.path.insert(0, str(HERE / "_ext"))  # pimsim_docgen

import sim  # noqa: E402

project = "pimsim"
author = "the pimsim developers"
copyright = "pimsim developers"  # noqa: A001
release = version = sim.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "pimsim_docgen"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "examples", "_ext", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True

try:
    import furo  # noqa: F401

    html_theme = "furo"
except ImportError:  # the docs extra installs furo; fall back to the built-in theme
    html_theme = "alabaster"
html_title = f"pimsim {release}"
