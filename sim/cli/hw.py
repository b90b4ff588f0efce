"""``pimsim hw``: list the hardware presets and show one resolved config."""

from __future__ import annotations

import argparse

from sim.cli.common import add_json_option, add_set_option, print_json, subparser
from sim.cli.output import print_table
from sim.config import list_presets, load_tree
from sim.config.display import flatten, to_display

EXAMPLES = """  pimsim hw list
  pimsim hw show a100-40gb
  pimsim hw show a100-40gb --json
  pimsim hw show h100-sxm --set memory.2.bandwidth='3 TB/s'
  pimsim hw show ./my-device.yaml
  pimsim hw show pim-gpt --set pim.channels=16 --json   (a system: each device under its entry name)
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
        from sim.engine.system import resolve_system

        resolved = resolve_system(args.name, args.overrides)  # a system's devices under their entry names
        if args.json:
            print_json(resolved.to_si())
        else:
            rows = [[k, "" if v is None else str(v)] for k, v in flatten(to_display(resolved.config))]
            for entry, dev in resolved.devices.items():
                rows += [[f"{entry}.{k}", "" if v is None else str(v)] for k, v in flatten(to_display(dev))]
            print_table(f"{args.name} (resolved)", ["key", "value"], rows)
        return 0
    args._parser.print_help()
    return 0
