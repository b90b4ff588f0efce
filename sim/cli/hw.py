"""``pimsim hw``: list the hardware presets and show one resolved config."""

from __future__ import annotations

import argparse

from sim.cli.common import add_json_option, add_set_option, print_json, subparser
from sim.cli.output import print_table
from sim.config import list_presets, load_hw, load_tree
from sim.config.display import flatten, to_display, to_si

EXAMPLES = """  pimsim hw list
  pimsim hw show a100-40gb
  pimsim hw show a100-40gb --json
  pimsim hw show h100-sxm --set memory.2.bandwidth='3 TB/s'
  pimsim hw show ./my-device.yaml
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pimsim hw list`` and ``pimsim hw show``."""
    p = subparser(sub, "hw", "list hardware presets or show one resolved config", EXAMPLES)
    hw_sub = p.add_subparsers(dest="hw_command", metavar="{list,show}")
    p_list = hw_sub.add_parser("list", help="list the presets by category",
                               epilog="examples:\n  pimsim hw list\n  pimsim hw list --json",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    add_json_option(p_list)
    p_show = hw_sub.add_parser("show", help="print a resolved config with units",
                               epilog="examples:\n  pimsim hw show a100-40gb\n  pimsim hw show ddr4-2400 --json",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    p_show.add_argument("name", help="preset name or YAML path")
    add_set_option(p_show)
    add_json_option(p_show)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim hw``."""
    if args.hw_command == "list":
        presets = list_presets()
        if args.json:
            print_json(presets)
            return 0
        rows = []
        for category, names in presets.items():
            for name in names:
                desc = load_tree(name).data.get("description", "")
                rows.append([category, name, desc])
        print_table("hardware presets", ["category", "name", "description"], rows)
        return 0
    if args.hw_command == "show":
        model = load_hw(args.name, args.overrides)
        if args.json:
            print_json(to_si(model))
        else:
            rows = [[k, "" if v is None else str(v)] for k, v in flatten(to_display(model))]
            print_table(f"{args.name} (resolved)", ["key", "value"], rows)
        return 0
    args._parser.print_help()
    return 0
