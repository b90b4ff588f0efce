"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set key.path=value`` (repeatable): override any hardware-config key."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a hardware config key, e.g. --set memory.hbm.bandwidth='1.2 TB/s' "
                             "(repeatable)")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: print machine-readable JSON instead of tables."""
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def subparser(sub: Any, name: str, help_text: str, examples: str) -> argparse.ArgumentParser:
    """Add a subcommand parser whose epilog lists examples."""
    return sub.add_parser(name, help=help_text, description=help_text,
                          epilog="examples:\n" + examples,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def print_json(obj: Any) -> None:
    """Write ``obj`` as indented JSON to stdout."""
    json.dump(obj, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def add_workload_options(parser: argparse.ArgumentParser, *, generate: bool = True,
                         defaults: dict[str, Any] | None = None) -> None:
    """Model, batch, prompt (and generate), datatypes, conventions and routing options."""
    d = {"model": "llama-2-7b", "batch": 1, "prompt": 1024, "generate": 256, **(defaults or {})}
    parser.add_argument("--model", default=d["model"],
                        help=f"model preset name or path of a Hugging Face config.json (default {d['model']})")
    parser.add_argument("--batch", type=int, default=d["batch"], help=f"sequences per batch (default {d['batch']})")
    parser.add_argument("--prompt", type=int, default=d["prompt"],
                        help=f"prompt length, tokens (default {d['prompt']})")
    if generate:
        parser.add_argument("--generate", type=int, default=d["generate"],
                            help=f"tokens generated after the prompt (default {d['generate']})")
    parser.add_argument("--dtype", default="fp16", help="datatype of weights, activations and KV (default fp16)")
    parser.add_argument("--weight-dtype", help="weight datatype (overrides --dtype)")
    parser.add_argument("--act-dtype", help="activation datatype (overrides --dtype)")
    parser.add_argument("--kv-dtype", help="KV-cache datatype (overrides --dtype)")
    parser.add_argument("--conventions", default="default",
                        help="accounting conventions: default or llm-viewer (see docs/conventions.md)")
    parser.add_argument("--routing", default="uniform", help="MoE routing source (default uniform)")
    parser.add_argument("--seed", type=int, default=0, help="seed of sampled routing (default 0)")


def workload_dtypes(args: argparse.Namespace) -> Any:
    """The DTypes chosen by ``--dtype`` and the per-tensor overrides."""
    from sim.workload.dtypes import DTypes

    return DTypes(args.weight_dtype or args.dtype, args.act_dtype or args.dtype, args.kv_dtype or args.dtype)


def check_positive(args: argparse.Namespace, *names: str) -> None:
    """Raise a ConfigError if a workload count is not positive."""
    from sim.errors import ConfigError

    for n in names:
        v = getattr(args, n, None)
        minimum = 0 if n == "generate" else 1
        if v is not None and v < minimum:
            raise ConfigError(f"--{n} must be at least {minimum}", value=v)
