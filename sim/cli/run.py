"""``pimsim run``: replay a generation (prefill + decode) on a system: latency, energy, timeline, roofline."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import (
    add_json_option,
    add_set_option,
    add_workload_options,
    check_positive,
    print_json,
    subparser,
    workload_dtypes,
)
from sim.cli.output import collapse_instances, print_table
from sim.cli.progress import progress_bar

DEFAULT_HW = "a100-80gb"
DEFAULTS = {"model": "llama-2-7b", "batch": 1, "prompt": 1024, "generate": 256}

EXAMPLES = f"""  pimsim run             {DEFAULTS["model"]} on {DEFAULT_HW}: batch 1, prompt 1024, 256 tokens
  pimsim run --hw h100-sxm --model llama-3-8b --batch 8 --prompt 512 --generate 128
  pimsim run --hw gpu-node --model llama-2-7b --json --per-op > run.json
  pimsim run --hw gpu-node --placement rules --placement-rules rules.yaml --timeline t.json
  pimsim run --hw a100-80gb --set memory.2.bandwidth='3 TB/s'     # what if HBM were faster?
  pimsim run --hw gpu-node --set gpu.kernel_launch=2us            # a device of a system: prefix its name
  pimsim run --hw a100-80gb --fidelity cycle --generate 4          # DRAM time from the cycle-accurate engine
  pimsim run --hw dgx-h100 --model llama-2-70b --tp 8 --batch 8     # tensor parallel on a DGX H100
  pimsim run --hw dgx-a100-2node --model mixtral-8x7b --tp 8 --dp 2 --ep 16 --routing synthetic
  pimsim run --hw hgx-h100-astra --model llama-2-7b --tp 4 --pp 2 --microbatches 4 --network contention
  pimsim run --hw pim-gpt --model gpt2-xl --prompt 64 --generate 1024 --json   # PIM-GPT at command level
  pimsim run --hw t4 --model gpt2 --framework                      # the T4 as PyTorch eager runs it
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pimsim run``."""
    p = subparser(
        sub, "run", "simulate a generation on a system: latency, energy, timeline, roofline", EXAMPLES
    )
    p.add_argument(
        "--hw",
        default=DEFAULT_HW,
        help=f"system or device preset, or a YAML path (default {DEFAULT_HW}; a device is a "
        "one-device system)",
    )
    add_workload_options(p, defaults=DEFAULTS)
    p.add_argument(
        "--placement",
        help="placement policy: single, pim-gpt, attention-offload or rules (default: the system's)",
    )
    p.add_argument(
        "--placement-rules",
        metavar="FILE.yaml",
        help="YAML with `rules:` (and optional `default:`) for --placement rules",
    )
    p.add_argument(
        "--fidelity",
        choices=("analytic", "cycle"),
        help="DRAM timing of every device: analytic (bandwidth x efficiency) or cycle (the "
        "cycle-accurate DRAM engine); default: each device config's",
    )
    p.add_argument(
        "--framework",
        action="store_true",
        help="run the devices that have a `framework:` block (t4, xeon-gold-6154) under that framework's "
        "per-operator overheads and conventions (eager PyTorch at batch 1)",
    )
    par = p.add_argument_group("parallelism (a system's `parallel:` block; see docs/interconnect.md)")
    for flag, what in (("tp", "tensor-parallel degree"), ("pp", "pipeline stages"),
                       ("ep", "expert-parallel degree (tp x dp ranks; with tp = dp = 1 it sets dp)"),
                       ("dp", "data-parallel replicas"), ("microbatches", "micro-batches per step (pipeline)")):
        par.add_argument(f"--{flag}", type=int, metavar="N", help=what)
    par.add_argument("--symmetric", action="store_true",
                     help="simulate one tensor-parallel rank of one replica (exact for tp/dp/pp without ep)")
    par.add_argument("--network", choices=("analytic", "contention"),
                     help="transfers and collectives: analytic (alpha-beta, no contention) or contention "
                          "(chunks queue per link); default: the system's")
    par.add_argument("--kv-transfer", choices=("serial", "layerwise"),
                     help="disaggregated serving (a system with `serving:`): KV cache after the prefill or "
                          "layer by layer")
    p.add_argument(
        "--trace", metavar="FILE", help="replay a stored trace (JSON Lines) instead of generating one"
    )
    p.add_argument("--per-op", action="store_true", help="with --json: add every op's record (`ops`)")
    p.add_argument("--timeline", metavar="FILE.json", help="write a Chrome trace / Perfetto JSON timeline")
    p.add_argument(
        "--chart",
        default="roofline.png",
        help="roofline chart of the prefill and first decode step (default roofline.png; for systems of "
        "several device entries one file per entry, of its first instance, suffixed with its name)",
    )
    p.add_argument("--no-chart", action="store_true", help="do not write the chart")
    add_set_option(p)
    add_json_option(p)
    p.set_defaults(func=run)


def _rules(path: str | None) -> dict | None:
    if path is None:
        return None
    from sim.config.loader import read_yaml
    from sim.errors import ConfigError

    data = read_yaml(Path(path))
    unknown = sorted(set(data) - {"rules", "default"})
    if unknown:
        raise ConfigError(
            "unknown key(s) in placement rules file",
            file=path,
            key=unknown[0],
            expected="rules (a list) and default (a device name)",
        )
    return data


def _charts(result, system, conv, path: str) -> list[str]:
    from sim.plots.roofline import plot_roofline
    from sim.results.roofline import OpPlacement, ceilings

    out = []
    by_dev: dict[str, list] = {}
    for r in result.roofline_ops:
        by_dev.setdefault(r.device, []).append(r)
    # one chart per device entry of the system: the first of its instances (gpu[0] for gpu[0..7]); the
    # others run the same kinds of ops (``pimsim roofline`` charts any one device in detail)
    firsts: dict[str, str] = {}
    for dev in by_dev:
        firsts.setdefault(dev.split("[")[0], dev)
    by_dev = {dev: by_dev[dev] for dev in firsts.values()}
    for dev, recs in by_dev.items():
        pts = [
            OpPlacement(
                name=r.name,
                kind=r.kind,
                layer=r.layer,
                phase=r.phase,
                flops=r.flops,
                bytes=r.dram_bytes,
                load_weight_bytes=0.0,
                load_act_bytes=0.0,
                store_act_bytes=0.0,
                load_kv_bytes=0.0,
                store_kv_bytes=0.0,
                intensity=r.intensity,
                attained_flops_per_s=r.attained_flops_per_s,
                bound=r.bound,
                time_s=r.time_s,
                compute_dtype=r.compute_dtype,
                level_bytes=r.level_bytes,
            )
            for r in recs
        ]
        target = Path(path)
        if len(by_dev) > 1:
            target = target.with_name(f"{target.stem}-{dev.replace('[', '').replace(']', '')}{target.suffix}")
        ceil = ceilings(system.devices[dev].config, recs[0].compute_dtype, conv)
        out.append(
            str(
                plot_roofline(
                    pts,
                    ceil,
                    target,
                    title=f"{result.model} on {dev} ({result.system}): "
                    f"prefill and first decode step, batch {result.batch}",
                )
            )
        )
    return out


def _parallel_overrides(args: argparse.Namespace) -> list[str]:
    """``--tp`` and friends as ``--set`` overrides of the system file (ParallelError on a lone device)."""
    out = []
    for key in ("tp", "pp", "ep", "dp", "microbatches"):
        v = getattr(args, key, None)
        if v is not None:
            out.append(f"parallel.{key}={v}")
    if getattr(args, "symmetric", False):
        out.append("parallel.symmetric=true")
    if getattr(args, "network", None):
        out.append(f"network.mode={args.network}")
    if getattr(args, "kv_transfer", None):
        out.append(f"serving.kv_transfer={args.kv_transfer}")
    if not out:
        return out
    from sim.config import load_tree
    from sim.workload.parallel import ParallelError

    if load_tree(args.hw).data.get("kind") != "system":
        split = [o for o in out if o.startswith("parallel.") and not o.endswith("=1")]
        if split:
            raise ParallelError(
                f"--hw {args.hw} is a single device; a parallel split ({', '.join(split)}) needs a system of "
                "several devices joined by links, e.g. dgx-a100, dgx-h100, hgx-h100-astra or dgx-a100-2node"
            )
        return []
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``pimsim run``."""
    from sim.engine.replay import run_system
    from sim.engine.system import load_system, with_fidelity
    from sim.workload.conventions import get_conventions

    check_positive(args, "batch", "prompt", "generate")
    rules = _rules(args.placement_rules)
    placement = args.placement or ("rules" if rules is not None else None)
    system = load_system(
        args.hw, [*args.overrides, *_parallel_overrides(args)], placement=placement,
        placement_options=rules if rules is not None else None,
    )
    if args.fidelity:
        system = with_fidelity(system, args.fidelity)
    conv = get_conventions(args.conventions)
    if args.framework:
        from sim.engine.system import framework_conventions, with_framework

        system = with_framework(system)
        if args.conventions == "default":
            conv = get_conventions(framework_conventions(system) or "default")
    ops = None
    model = args.model
    header: dict = {}
    if args.trace:  # the workload figures (labels only) come from the trace's header when it has them
        from sim.workload.trace import read_trace, read_trace_header

        header = read_trace_header(args.trace)
        for key in ("batch", "prompt", "generate"):
            if isinstance(header.get(key), int):
                setattr(args, key, header[key])
        ops = read_trace(args.trace)
        model = None
    with progress_bar(f"simulating on {system.name}", args.generate + 1) as advance:
        result = run_system(
            system,
            model,
            args.batch,
            args.prompt,
            args.generate,
            dtypes=workload_dtypes(args),
            conventions=conv,
            routing=args.routing,
            seed=args.seed,
            keep_ops=args.per_op,
            timeline=args.timeline,
            progress=lambda step: advance(step + 1),
            ops=ops,
        )
    if args.trace:
        result.model = str(header.get("model", "trace"))
    charts = [] if args.no_chart or not result.roofline_ops else _charts(result, system, conv, args.chart)
    if args.json:
        out = result.to_dict(per_op=args.per_op)
        out["charts"] = charts
        out["chart"] = charts[0] if charts else None
        print_json(out)
        return 0
    _print(result, args, conv.name, charts)
    return 0


def _print(result, args: argparse.Namespace, conv: str, charts: list[str]) -> None:
    print(
        f"{result.model} on {result.system} ({len(result.devices)} device(s), placement {result.placement}): "
        f"batch {args.batch}, prompt {args.prompt} tokens, {args.generate} generated tokens, "
        f"conventions {conv}"
    )
    rows = []
    for name, ph in result.phases.items():
        per = ph.time_s / ph.steps if ph.steps else 0.0
        rows.append(
            [
                name,
                ph.steps,
                f"{ph.time_s * 1e3:.4g}",
                f"{per * 1e3:.4g}",
                f"{ph.flops / 1e12:.4g}",
                f"{ph.bytes / 1e9:.4g}",
                f"{ph.energy_total_J:.4g}",
            ]
        )
    rows.append(
        [
            "total",
            sum(p.steps for p in result.phases.values()),
            f"{result.latency_s * 1e3:.4g}",
            "",
            f"{sum(p.flops for p in result.phases.values()) / 1e12:.4g}",
            f"{sum(p.bytes for p in result.phases.values()) / 1e9:.4g}",
            f"{result.energy_J:.4g}",
        ]
    )
    print_table(
        "latency and energy by phase",
        ["phase", "steps", "time (ms)", "per step (ms)", "TFLOP", "DRAM GB", "energy (J)"],
        rows,
        align_right=(1, 2, 3, 4, 5, 6),
    )
    t = result.latency_s or 1.0
    print_table(
        "devices",
        ["device", "type", "ops", "busy (ms)", "utilisation", "energy (J)"],
        collapse_instances([
            [
                n,
                d.type,
                d.ops,
                f"{d.busy_s * 1e3:.4g}",
                f"{d.busy_s / t:.1%}",
                f"{sum(d.energy_J.values()):.4g}",
            ]
            for n, d in result.devices.items()
        ]),
        align_right=(2, 3, 4, 5),
    )
    if result.links:
        rows = []
        idle = 0
        for n, ln in result.links.items():
            if len(result.links) > 8 and not ln.bytes:
                idle += 1
                continue
            busy = ", ".join(f"{k} {v / t:.1%}" for k, v in ln.busy_s.items()) or "-"
            rows.append([n, ln.transfers, f"{ln.bytes / 1e6:.4g}", busy, f"{ln.energy_J:.4g}"])
        title = "links" + (f" ({idle} idle links not shown)" if idle else "")
        print_table(
            title, ["link", "p2p transfers", "MB (all traffic)", "utilisation", "energy (J)"], collapse_instances(rows),
            align_right=(1, 2, 4),
        )
    if result.collectives:
        print_table(
            f"collectives ({result.network_mode} network)",
            ["collective", "calls", "time (ms)", "network MB", "energy (J)", "algorithms"],
            [[k, c.calls, f"{c.time_s * 1e3:.4g}", f"{c.bytes / 1e6:.4g}", f"{c.energy_J:.4g}",
              ", ".join(f"{a} {n}" for a, n in c.algorithms.items())] for k, c in result.collectives.items()],
            align_right=(1, 2, 3, 4),
        )
    if any(c.comm_s for c in result.communication.values()):
        worst = max(result.communication.items(), key=lambda kv: kv[1].exposed_s)
        print(f"communication: exposed (not overlapped by compute) {worst[1].exposed_s * 1e3:.4g} ms on {worst[0]} "
              f"({worst[1].exposed_s / t:.1%} of the run); waiting on communication {worst[1].comm_s * 1e3:.4g} ms")
    if result.runtime_overhead_s:
        print(f"serving-framework host time (runtime:) {result.runtime_overhead_s * 1e3:.4g} ms")
    bd = result.breakdown()
    total = result.energy_J
    print_table(
        "energy by component",
        ["component", "energy (J)", "share"],
        [[k, f"{v:.4g}", f"{v / total:.1%}" if total else "-"] for k, v in bd.items()],
        align_right=(1, 2),
    )
    print(
        f"time to first token {result.ttft_s * 1e3:.4g} ms, time between tokens {result.tbt_s * 1e3:.4g} ms"
    )
    pim = result.pim_metrics()
    if pim is not None:
        hit = pim["row_hit_rate"]
        print_table(
            "PIM",
            ["figure", "value"],
            [
                ["latency per generated token (ms)", f"{pim['per_token_latency_s'] * 1e3:.4g}"],
                ["row-hit rate", f"{hit:.2%}" if hit is not None else "-"],
                ["off-chip I/O (MB)", f"{pim['offchip_bytes'] / 1e6:.4g}"],
                ["off-chip I/O reduction vs plain GDDR6",
                 f"{pim['offchip_reduction']:.4g}x" if pim["offchip_reduction"] else "-"],
                ["time outside GEMV work", f"{pim['non_gemv_time_fraction']:.2%}"],
                ["ASIC busy", f"{pim['asic_time_fraction']:.2%}"],
            ],
            align_right=(1,),
        )
    for c in charts:
        print(f"roofline chart written to {c}")
    if result.timeline:
        print(f"timeline written to {result.timeline} (open it in https://ui.perfetto.dev)")
