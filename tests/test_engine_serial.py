"""The engine's serial fast path (steps replayed without the event queue) gives exactly the event engine's
results, and is taken only where it is valid."""

import json

import pytest

from sim.engine.replay import cached_trace, run_system
from sim.engine.simulator import Simulator
from sim.engine.system import load_system
from sim.workload.conventions import get_conventions
from sim.workload.dtypes import DTypes
from sim.workload.generator import generate_trace
from sim.workload.models import load_model


def _run(hw: str, model: str, prompt: int, generate: int, *, serial: bool, overrides=(), batch: int = 1):
    spec = load_model(model)
    sim = Simulator(load_system(hw, overrides), get_conventions("default"), keep_ops=True, serial=serial)
    ops = generate_trace(spec, batch, prompt, generate)
    r = sim.run(ops, model_name=spec.name, batch=batch, prompt=prompt, generate=generate,
                context_tokens=prompt + generate)
    return sim, r


def _text(result) -> str:
    return json.dumps(result.to_dict(per_op=True), sort_keys=True, default=str)


@pytest.mark.parametrize(
    ("hw", "overrides"),
    [
        ("pim-gpt", ()),  # two devices, free links: every step on the fast path
        ("pim-gpt", ("pim.channels=16", "asic.clock=2GHz")),
        ("a100-80gb", ()),  # one device
        ("dgx-a100", ()),  # an unsplit trace on one of 8 GPUs, with the runtime's host time between steps
    ],
)
def test_serial_fast_path_equals_the_event_engine(hw, overrides):
    ev_sim, ev = _run(hw, "gpt2", 12, 5, serial=False, overrides=overrides)
    fast_sim, fast = _run(hw, "gpt2", 12, 5, serial=True, overrides=overrides)
    assert ev_sim.serial_steps == 0 and fast_sim.serial_steps == 6  # prefill + 5 decode steps
    assert _text(fast) == _text(ev)  # every figure and every op record, bit for bit
    assert fast.step_ends == ev.step_ends and fast.latency_s == ev.latency_s
    assert {d: s.busy_s for d, s in fast.devices.items()} == {d: s.busy_s for d, s in ev.devices.items()}


def test_serial_fast_path_is_not_taken_with_collectives_fetches_or_several_streams(tmp_path):
    # tensor parallelism: every step has all-reduces between the GPUs, which the event engine must run
    sysm = load_system("dgx-a100", ["parallel.tp=2"])
    sim = Simulator(sysm, get_conventions("default"), serial=True)
    r = sim.run(generate_trace("gpt2", 1, 8, 2, parallel=sysm.parallel), batch=1, prompt=8, generate=2)
    assert sim.serial_steps == 0 and r.latency_s > 0
    # offloaded experts: their weights are fetched over PCIe (a transfer the expert op waits for)
    f = tmp_path / "offload.yaml"
    f.write_text("kind: system\nname: offload\ndevices:\n  gpu: {preset: rtx-a6000}\n  cpu: {preset: xeon-gold-5220r}\n"
                 "links:\n  - {between: [gpu, cpu], preset: pcie3-x16}\ndefault_device: gpu\n"
                 "experts: {home: cpu, offload: 0.5, execute: fetch}\n")
    sysm = load_system(str(f))
    spec = load_model("qwen1.5-moe-a2.7b")
    sysm.policy.num_experts = spec.num_experts  # as run_system sets it
    sim = Simulator(sysm, get_conventions("default"), serial=True, keep_ops=True)
    r = sim.run(generate_trace(spec, 1, 8, 1, routing="uniform-sampled"), batch=1, prompt=8, generate=1)
    assert sim.serial_steps == 0 and any(t.producer.endswith(".weights") for t in r.transfers)
    sysm = load_system("pim-gpt")
    sysm.devices["asic"].streams = 2
    assert Simulator(sysm, get_conventions("default"))._serial_capable is False


def test_timeline_runs_on_the_event_engine_with_the_same_figures(tmp_path):
    a = run_system(load_system("pim-gpt"), "gpt2", 1, 8, 3)
    b = run_system(load_system("pim-gpt"), "gpt2", 1, 8, 3, timeline=tmp_path / "t.json")
    assert (b.latency_s, b.energy_J) == (a.latency_s, a.energy_J)


def test_cached_trace_is_the_generated_trace_and_is_reused():
    spec = load_model("gpt2")
    kw = dict(dtypes=DTypes(), conventions=get_conventions("default"), routing="uniform", seed=0, parallel=None)
    first = cached_trace(spec, 1, 8, 3, **kw)
    assert cached_trace(spec, 1, 8, 3, **kw) is first
    assert [(o.id, o.name, o.deps, o.kv_len) for o in first] == [
        (o.id, o.name, o.deps, o.kv_len) for o in generate_trace(spec, 1, 8, 3)]
    assert cached_trace(spec, 1, 8, 4, **kw) is not first
    a = run_system(load_system("pim-gpt"), spec, 1, 8, 3, cache_trace=True)
    b = run_system(load_system("pim-gpt"), spec, 1, 8, 3)
    assert _text(a) == _text(b)
