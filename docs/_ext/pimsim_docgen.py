"""Sphinx extension: generate the configuration reference (from the pydantic config models) and the
command-line reference (from the argparse parsers) when the build starts.

The pages are written to ``docs/reference/config.md`` and ``docs/reference/cli.md`` (not committed:
they always match the code). ``python docs/_ext/pimsim_docgen.py`` writes them without Sphinx.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent
KINDS = (
    ("device", "Compute devices (`kind: device`)"),
    ("memory", "Memories (`kind: memory`)"),
    ("link", "Links (`kind: link`)"),
    ("system", "Systems (`kind: system`)"),
)


def _type_name(annotation: Any) -> str:
    """A short readable type: ``float``, ``list[MemoryLevel]``, ``dict[str, float]``, ``'a' | 'b'``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _inner_models(annotation: Any) -> list[type]:
    from pydantic import BaseModel

    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for a in typing.get_args(annotation):
        found += _inner_models(a)
    return found


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def model_table(model: type) -> list[str]:
    """Markdown table rows of one pydantic model's fields."""
    from pydantic_core import PydanticUndefined

    from sim.config.units import dimension_of, format_quantity

    rows = ["| key | type | unit | default | description |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        dim = dimension_of(info.annotation)
        for meta in info.metadata:
            dim = dim or getattr(getattr(meta, "func", None), "dim", None)
        unit = format_quantity(1.0, dim).split(" ", 1)[1] if dim else ""
        if info.is_required():
            default = "required"
        elif info.default_factory is not None:
            default = f"`{info.default_factory()!r}`"
        elif info.default is PydanticUndefined:
            default = ""
        else:
            default = f"`{info.default!r}`"
        desc = info.description or ""
        rows.append(
            f"| `{name}` | {_cell(_type_name(info.annotation))} | {unit} | {_cell(default)} | {_cell(desc)} |"
        )
    return rows


def config_reference() -> str:
    """The configuration reference page (markdown)."""
    from sim.config import schema_for

    out = [
        "# Configuration reference",
        "",
        "Generated from the config models (`sim/config/`) when the documentation is built. Every key",
        'of a hardware YAML file, with its type, its unit (write values with a unit, e.g. `"2 TB/s"`;',
        "after loading everything is SI), its default and what it means. Unknown keys are errors.",
        "[Hardware configuration files](../config-format.md) explains `extends:`, units and overrides;",
        "sweeps vary these keys by their dotted path (list items by index or name).",
        "",
    ]
    for kind, title in KINDS:
        root = schema_for(kind)
        out += [f"## {title}", ""]
        seen: set[type] = set()
        queue: list[tuple[type, str]] = [(root, "")]
        while queue:
            model, path = queue.pop(0)
            if model in seen:
                continue
            seen.add(model)
            doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
            heading = f"`{path}`" if path else "top level"
            out += (
                [f"### {heading}: {model.__name__}", "", doc, ""]
                if doc
                else [f"### {heading}: {model.__name__}", ""]
            )
            out += model_table(model) + [""]
            for name, info in model.model_fields.items():
                for inner in _inner_models(info.annotation):
                    origin = typing.get_origin(info.annotation)
                    suffix = (
                        "[i]" if origin in (list, tuple) or "list[" in _type_name(info.annotation) else ""
                    )
                    suffix = ".NAME" if "dict[" in _type_name(info.annotation) else suffix
                    queue.append((inner, f"{path + '.' if path else ''}{name}{suffix}"))
    return "\n".join(out) + "\n"


def cli_reference() -> str:
    """The command-line reference page (markdown): every subcommand's ``--help``."""
    import argparse

    from sim.cli import SUBCOMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = [
        "# Command-line reference",
        "",
        "Generated from the `pimsim` parsers when the documentation is built.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]
    for name in SUBCOMMANDS:
        p = sub.choices.get(name)
        if p is None:
            continue
        out += [f"## pimsim {name}", "", "```text", p.format_help().rstrip(), "```", ""]
        nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        for action in nested:
            for child_name, child in action.choices.items():
                out += [
                    f"### pimsim {name} {child_name}",
                    "",
                    "```text",
                    child.format_help().rstrip(),
                    "```",
                    "",
                ]
    return "\n".join(out) + "\n"


def write_pages(docs: Path = DOCS) -> list[Path]:
    """Write the generated pages (only when their text changed, so rebuilds stay incremental)."""
    import os

    os.environ.setdefault("COLUMNS", "100")  # argparse wraps help at the terminal width
    pages = {
        docs / "reference" / "config.md": config_reference(),
        docs / "reference" / "cli.md": cli_reference(),
    }
    for path, text in pages.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    return list(pages)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", lambda app: write_pages(Path(app.srcdir)))
    return {"version": "1", "parallel_read_safe": True}


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(DOCS.parent))
    for p in write_pages():
        print(f"wrote {p}")
