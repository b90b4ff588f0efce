"""The documentation: a Sphinx + MyST site that builds without warnings, with every page in a toctree,
and a configuration reference generated from the config models."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))


def test_config_reference_lists_every_field_with_units():
    import pimsim_docgen

    from sim.config import schema_for
    from sim.config.hardware import DeviceConfig, MemoryLevel

    text = pimsim_docgen.config_reference()
    for kind in ("device", "memory", "link", "system"):
        for name in schema_for(kind).model_fields:
            assert f"| `{name}` |" in text, (kind, name)
    for name in MemoryLevel.model_fields:
        assert f"| `{name}` |" in text
    assert "### `memory[i]`: MemoryLevel" in text
    assert "| `bandwidth` | float | B/s | required |" in text
    assert "| `clock` | float | Hz | required |" in text
    assert len(DeviceConfig.model_fields) > 5


def test_cli_reference_covers_every_subcommand():
    import pimsim_docgen

    from sim.cli import SUBCOMMANDS

    text = pimsim_docgen.cli_reference()
    for name in SUBCOMMANDS:
        assert f"## pimsim {name}" in text
    assert "### pimsim plot heatmap" in text


def test_sphinx_builds_without_warnings_and_includes_every_page(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    out = tmp_path / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(out),
            "-d",
            str(tmp_path / "doctrees"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    pages = [
        p.relative_to(DOCS).with_suffix(".html")
        for p in DOCS.rglob("*.md")
        if not p.relative_to(DOCS).parts[0].startswith(("_", "examples"))
    ]
    assert len(pages) > 20
    for page in pages:
        assert (out / page).is_file(), f"{page} was not built (missing from every toctree?)"
    index = (out / "index.html").read_text()
    for page in pages:
        if len(page.parts) == 1 and page.name != "index.html":
            assert f'href="{page.as_posix()}"' in index, f"{page} is not in the index's toctree"
