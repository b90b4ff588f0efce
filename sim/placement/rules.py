"""User placement rules: an ordered list of matchers, first match wins.

In a system file (or a YAML file given to ``pimsim run --placement-rules``)::

    placement:
      policy: rules
      options:
        default: gpu                       # device for ops no rule matches (default: the system default)
        rules:
          - {kind: [attn_score, softmax, attn_context, kv_write], phase: decode, device: pim}
          - {name: "layer*.mlp.*", layers: "0-15", device: cpu, stream: 1}
          - {kind: expert_linear, device: cpu}

A rule matches when every key it gives matches: ``kind`` (a kind or a list), ``name`` (a shell
pattern, ``fnmatch``), ``phase`` (prefill/decode), ``layers`` (a list of layer indices, or ``"a-b"``,
inclusive), ``expert`` (an expert index or a list). ``device`` is required; ``stream`` optional.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.config.hardware import DeviceConfig
from sim.errors import ConfigError
from sim.placement.base import Placement, PlacementPolicy
from sim.workload.trace import KINDS, PHASES, Op

RULE_KEYS = ("kind", "name", "phase", "layers", "expert", "device", "stream")


@dataclass(frozen=True)
class Rule:
    """One matcher and its target."""

    target: Placement
    kinds: frozenset[str] | None = None
    pattern: str | None = None
    phase: str | None = None
    layers: frozenset[int] | None = None
    experts: frozenset[int] | None = None

    def matches(self, op: Op) -> bool:
        """True when every given key matches ``op``."""
        if self.kinds is not None and op.kind not in self.kinds:
            return False
        if self.phase is not None and op.phase != self.phase:
            return False
        if self.layers is not None and op.layer not in self.layers:
            return False
        if self.experts is not None and op.expert not in self.experts:
            return False
        return self.pattern is None or fnmatch.fnmatchcase(op.name, self.pattern)


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _layers(v: Any, key: str) -> frozenset[int]:
    if isinstance(v, str) and "-" in v:
        a, _, b = v.partition("-")
        if a.strip().lstrip("-").isdigit() and b.strip().isdigit() and int(a) <= int(b):
            return frozenset(range(int(a), int(b) + 1))
    vals = _as_list(v)
    if all(isinstance(x, int) and not isinstance(x, bool) for x in vals):
        return frozenset(vals)
    raise ConfigError("bad layers", key=key, value=v, expected='a layer index, a list of them, or "a-b"')


def parse_rule(raw: Any, index: int, resolve: Any) -> Rule:
    """Validate one rule mapping; ``resolve(name, key)`` turns device names into instances."""
    key = f"placement.options.rules.{index}"
    if not isinstance(raw, dict):
        raise ConfigError(
            "a rule must be a mapping", key=key, value=raw, expected="keys " + ", ".join(RULE_KEYS)
        )
    unknown = sorted(set(raw) - set(RULE_KEYS))
    if unknown:
        raise ConfigError(f"unknown rule key(s) {', '.join(unknown)}", key=key, expected=", ".join(RULE_KEYS))
    if "device" not in raw:
        raise ConfigError("a rule needs a `device`", key=key)
    stream = raw.get("stream")
    if stream is not None and (isinstance(stream, bool) or not isinstance(stream, int) or stream < 0):
        raise ConfigError("bad stream", key=f"{key}.stream", value=stream, expected="an integer >= 0")
    kinds = None
    if "kind" in raw:
        kinds = frozenset(_as_list(raw["kind"]))
        bad = sorted(k for k in kinds if k not in KINDS)
        if bad:
            raise ConfigError(
                "unknown op kind", key=f"{key}.kind", value=bad[0], expected="one of " + ", ".join(KINDS)
            )
    phase = raw.get("phase")
    if phase is not None and phase not in PHASES:
        raise ConfigError("bad phase", key=f"{key}.phase", value=phase, expected="prefill or decode")
    pattern = raw.get("name")
    if pattern is not None and not isinstance(pattern, str):
        raise ConfigError("bad name pattern", key=f"{key}.name", value=pattern, expected="a string")
    experts = None
    if "expert" in raw:
        experts = frozenset(_as_list(raw["expert"]))
        if any(isinstance(e, bool) or not isinstance(e, int) for e in experts):
            raise ConfigError(
                "bad expert",
                key=f"{key}.expert",
                value=raw["expert"],
                expected="an expert index or a list of them",
            )
    layers = _layers(raw["layers"], f"{key}.layers") if "layers" in raw else None
    target = Placement(resolve(str(raw["device"]), f"rules.{index}.device"), stream)
    return Rule(target, kinds, pattern, phase, layers, experts)


class RulesPolicy(PlacementPolicy):
    """First matching rule wins; unmatched ops go to ``default``."""

    name = "rules"
    option_keys = ("rules", "default")

    def __init__(self, devices: Mapping[str, DeviceConfig], default: str, options: Mapping[str, Any]) -> None:
        super().__init__(devices, default, options)
        raw = self.options.get("rules", [])
        if not isinstance(raw, list):
            raise ConfigError("rules must be a list", key="placement.options.rules", value=raw)
        self.rules = [parse_rule(r, i, self.resolve) for i, r in enumerate(raw)]
        self.fallback = Placement(self.device_option("default", fallback=default))

    def place(self, op: Op) -> Placement:
        """The first matching rule's target, else the default device."""
        for rule in self.rules:
            if rule.matches(op):
                return rule.target
        return self.fallback
