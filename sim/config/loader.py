"""Loading hardware descriptions: YAML files, ``extends:`` inheritance, ``--set`` overrides, validation.

A config is named either by a preset name (the stem of any YAML file under ``hwconfigs/``, e.g.
``a100-40gb``) or by a path. ``extends:`` names one file or a list (preset names or paths relative to
the extending file); the parents are merged in order, then the file itself on top: dicts merge
recursively, scalars and lists replace. ``--set key.path=value`` overrides are applied last (the value
is read as YAML, so ``--set compute.fp16="100 TFLOPS"`` and ``--set memory.0.latency=5ns`` both work).

Every error names the file that set the offending key, the dotted key path, the bad value and what
was expected; validation errors from pydantic are translated the same way.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import ConfigError

T = TypeVar("T", bound=BaseModel)

OVERRIDE_SOURCE = "--set"


def hwconfigs_dir() -> Path:
    """Folder holding the YAML presets (``$PIMSIM_HWCONFIGS`` or ``hwconfigs/`` beside the package)."""
    env = os.environ.get("PIMSIM_HWCONFIGS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "hwconfigs"


def _preset_index() -> dict[str, Path]:
    index: dict[str, Path] = {}
    root = hwconfigs_dir()
    for path in sorted(root.rglob("*.y*ml")):
        if path.suffix not in (".yaml", ".yml") or path.name.startswith("_"):
            continue
        index.setdefault(path.stem, path)
    return index


def list_presets() -> dict[str, list[str]]:
    """Preset names grouped by category (the sub-folder of ``hwconfigs/``)."""
    root = hwconfigs_dir()
    out: dict[str, list[str]] = {}
    for name, path in _preset_index().items():
        rel = path.relative_to(root)
        cat = rel.parts[0] if len(rel.parts) > 1 else "other"
        out.setdefault(cat, []).append(name)
    return {k: sorted(v) for k, v in sorted(out.items())}


def find_preset(name: str) -> Path:
    """Path of the preset called ``name``; a ConfigError with the nearest names if there is none."""
    index = _preset_index()
    if name in index:
        return index[name]
    near = difflib.get_close_matches(name, list(index), n=4, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else "; `pimsim hw list` shows the presets"
    raise ConfigError(f"unknown hardware preset {name!r}{hint}")


def resolve_ref(ref: str | Path, base_dir: Path | None = None) -> Path:
    """Turn a preset name or a path (relative to ``base_dir`` if given) into an existing file path."""
    text = str(ref)
    candidates = []
    if base_dir is not None:
        candidates.append(base_dir / text)
    candidates.append(Path(text))
    for c in candidates:
        if c.is_file():
            return c.resolve()
    looks_like_path = "/" in text or text.endswith((".yaml", ".yml"))
    if looks_like_path:
        stem = Path(text).stem
        if not text.startswith((".", "/")) and stem in _preset_index():
            return _preset_index()[stem]
        raise ConfigError(f"file not found: {text}")
    return find_preset(text)


@dataclass
class ConfigTree:
    """A merged config: the data, and for every leaf key path the file (or ``--set``) that set it."""

    data: dict[str, Any]
    source: Path | None
    provenance: dict[str, str] = field(default_factory=dict)

    def origin(self, key: str) -> str:
        """The file (or ``--set``) that set ``key`` or its nearest parent."""
        k = key
        while k:
            if k in self.provenance:
                return self.provenance[k]
            k = k.rpartition(".")[0]
        return str(self.source) if self.source else "<config>"


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader that rejects a key written twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key] + 1}; a second value would "
                    "silently replace the first)", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping; a ConfigError with file and line for malformed YAML."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"malformed YAML: {problem}", file=where) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the file must hold a mapping of keys to values", file=str(path),
                          value=type(data).__name__, expected="a YAML mapping at the top level")
    return data


def _record(prov: dict[str, str], data: Any, prefix: str, src: str) -> None:
    if isinstance(data, dict) and data:
        for k, v in data.items():
            _record(prov, v, f"{prefix}.{k}" if prefix else str(k), src)
    else:
        # a scalar, list or empty dict replaces everything below it
        for key in [p for p in prov if p == prefix or p.startswith(prefix + ".")]:
            del prov[key]
        prov[prefix] = src


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Merge ``top`` onto ``base``: dicts merge recursively, scalars and lists replace. Returns a new dict."""
    out = copy.deepcopy(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _load(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ConfigError(f"cycle of extends: {cycle}", file=str(chain[-1]), key="extends")
    raw = read_yaml(path)
    parents = raw.pop("extends", None)
    if parents is None:
        parents = []
    elif isinstance(parents, str):
        parents = [parents]
    elif not (isinstance(parents, list) and all(isinstance(p, str) for p in parents)):
        raise ConfigError("bad extends", file=str(path), key="extends", value=parents,
                          expected="a file or preset name, or a list of them")
    merged: dict[str, Any] = {}
    prov: dict[str, str] = {}
    for parent in parents:
        try:
            ppath = resolve_ref(parent, path.parent)
        except ConfigError as exc:
            raise ConfigError(f"extends target not found: {exc}", file=str(path), key="extends",
                              value=parent) from None
        pdata, pprov = _load(ppath, (*chain, path))
        merged = deep_merge(merged, pdata)
        for key, src in pprov.items():
            _record(prov, _get(pdata, key), key, src)
    merged = deep_merge(merged, raw)
    _record(prov, raw, "", str(path))
    prov.pop("", None)
    return merged, prov


def _get(data: Any, key: str) -> Any:
    cur = data
    for part in key.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key.path=value`` into the key path and the YAML-parsed value."""
    if "=" not in text:
        raise ConfigError("an override must look like key.path=value", key=OVERRIDE_SOURCE, value=text)
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key or any(not p for p in key.split(".")):
        raise ConfigError("bad key path in override", key=OVERRIDE_SOURCE, value=text,
                          expected="dotted keys such as compute.fp16")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def apply_overrides(tree: ConfigTree, overrides: Iterable[str]) -> ConfigTree:
    """Apply ``key.path=value`` overrides in place (list items are addressed by index)."""
    for text in overrides:
        key, value = parse_override(text)
        parts = key.split(".")
        cur: Any = tree.data
        for i, part in enumerate(parts[:-1]):
            nxt = _child(cur, part)
            if nxt is None:
                if isinstance(cur, dict):
                    cur[part] = {}
                    nxt = cur[part]
                else:
                    raise ConfigError("override path does not exist", key=".".join(parts[: i + 1]),
                                      value=text, file=OVERRIDE_SOURCE)
            cur = nxt
        last = parts[-1]
        if isinstance(cur, list):
            if not (last.isdigit() and int(last) < len(cur)):
                raise ConfigError("override index out of range", key=key, value=text, file=OVERRIDE_SOURCE,
                                  expected=f"an index below {len(cur)}")
            cur[int(last)] = value
        elif isinstance(cur, dict):
            cur[last] = value
        else:
            raise ConfigError("override path goes through a scalar", key=key, value=text, file=OVERRIDE_SOURCE)
        _record(tree.provenance, value, key, OVERRIDE_SOURCE)
    return tree


def _child(cur: Any, part: str) -> Any:
    if isinstance(cur, dict):
        return cur.get(part)
    if isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
        return cur[int(part)]
    return None


def load_tree(ref: str | Path, overrides: Sequence[str] = ()) -> ConfigTree:
    """Load a preset or YAML file with its ``extends:`` chain merged and overrides applied."""
    path = resolve_ref(ref)
    data, prov = _load(path, ())
    tree = ConfigTree(data=data, source=path, provenance=prov)
    return apply_overrides(tree, overrides)


def _loc_to_key(loc: Sequence[Any]) -> str:
    # pydantic adds the tag of discriminated unions and function-validator names to loc; drop those
    parts = [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
    return ".".join(parts)


def validate(cls: type[T], tree: ConfigTree | dict[str, Any], *, file: str | None = None) -> T:
    """Validate ``tree`` against the pydantic model ``cls``; translate errors into one ConfigError."""
    if isinstance(tree, dict):
        tree = ConfigTree(data=tree, source=Path(file) if file else None)
    try:
        return cls.model_validate(tree.data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = _loc_to_key(err["loc"])
            src = tree.origin(key) if key else (str(tree.source) if tree.source else "<config>")
            msg = err["msg"]
            etype = err["type"]
            if etype == "extra_forbidden":
                parent_key = key.rpartition(".")[0]
                allowed = _allowed_keys(cls, parent_key)
                near = difflib.get_close_matches(key.rpartition(".")[2], allowed, n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(near)}?" if near else (
                    f"; allowed keys here: {', '.join(allowed)}" if allowed else "")
                lines.append(f"{src}: key '{key}': unknown key{hint}")
                continue
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            value = err.get("input")
            shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
            if shown and shown.strip() in msg:
                shown = ""                  # the validator's message names the value already
            where = f"key '{key}': " if key else ""  # a whole-file check names its keys in the message
            lines.append(f"{src}: {where}{msg}{shown}")
        raise ConfigError("\n".join(lines)) from None


def _allowed_keys(cls: type[BaseModel], key: str) -> list[str]:
    """Field names of the sub-model at dotted ``key`` (best effort, for suggestions)."""
    model: Any = cls
    for part in [p for p in key.split(".") if p]:
        if part.isdigit():
            continue
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return []
        model = _inner_model(fields[part].annotation)
        if model is None:
            return []
    return sorted(getattr(model, "model_fields", {}))


def _inner_model(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
