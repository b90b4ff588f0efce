"""The ``pimsim`` command line: one module per subcommand, registered in :data:`SUBCOMMANDS`.

Each subcommand module exposes ``register(subparsers)``, which adds its parser (with examples in its
epilog) and sets ``func`` to its ``run(args) -> int``. User errors (:class:`sim.errors.PimsimError`)
print one clear message and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sim import __version__
from sim.errors import PimsimError

#: Subcommand modules under ``sim.cli``, in the order ``--help`` lists them.
SUBCOMMANDS = ("run", "compare", "roofline", "trace", "hw", "dram", "sweep", "plot")

EPILOG = """examples:
  pimsim run                                   default model on the default device
  pimsim run --hw a100-80gb --model llama-2-7b --prompt 512 --generate 128
  pimsim compare --hw pim-gpt --baselines t4,xeon-gold-6154 --models gpt2,gpt2-xl
  pimsim roofline --hw a100-40gb --model llama-2-7b --batch 1 --prompt 1024 --phase decode
  pimsim trace --model gpt2-xl --prompt 128 --generate 1024 -o t.jsonl.gz
  pimsim hw list
  pimsim hw show a100-40gb --json
  pimsim dram --mem ddr4-2400 --trace requests.csv --json
  pimsim sweep --hw a100-80gb --model gpt2-xl --grid memory.2.bandwidth=1TB/s,2TB/s --out runs/bw
  pimsim plot heatmap runs/bw --x memory.2.bandwidth --y compute.fp16 --z latency_s -o bw.png

`pimsim COMMAND --help` shows each command's options and examples.
"""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="pimsim",
        description="Cycle-accurate simulator of LLM inference hardware (DRAM, DRAM-PIM, GPUs, CPUs, links).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pimsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"sim.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pimsim`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except PimsimError as exc:
        print(f"pimsim {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
