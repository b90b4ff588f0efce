"""DramSpec objects for the DRAM engine tests, built directly from the values in
/work/shared/reference/dram.md section 1 (DRAMsim3 .ini files and Ramulator 2.0 presets)."""

from __future__ import annotations

from dataclasses import replace

from sim.dram.spec import ControllerConfig, DramOrg, DramSpec, DramTiming


def ddr4_2400(compat: str = "default", **ctrl) -> DramSpec:
    """DRAMsim3 DDR4_8Gb_x8_2400: 1 channel, 2 ranks, 4x4 banks, 64-bit bus, BL8."""
    org = DramOrg(standard="DDR4", channels=1, ranks=2, bankgroups=4, banks_per_group=4, rows=65536,
                  columns=1024, device_width=8, bus_width_bits=64, burst_length=8)
    t = DramTiming(tCK_ns=0.83, CL=17, CWL=12, tRCD_RD=17, tRCD_WR=17, tRP=17, tRAS=39, tRC=56, tBL=4,
                   tCCD_S=4, tCCD_L=6, tRRD_S=4, tRRD_L=6, tFAW=26, tWR=18, tWTR_S=3, tWTR_L=9, tRTP=9,
                   tRTRS=1, tREFI=9360, tRFC=420)
    c = ControllerConfig(**{"address_mapping": "rochrababgco", "refresh": "staggered", "compat": compat,
                            **ctrl})
    return DramSpec(name="DDR4_8Gb_x8_2400", org=org, timing=t, controller=c)


def ddr4_2400_ramulator(**ctrl) -> DramSpec:
    """Ramulator 2.0 DDR4_8Gb_x8 + DDR4_2400U, 1 channel 2 ranks, RoBaRaCoCh, nCS 2."""
    s = ddr4_2400("ramulator2")
    t = replace(s.timing, tCK_ns=0.833, tREFI=9364, tRFC=433, tRTRS=2)
    c = replace(s.controller, **{"address_mapping": "RoBaRaCoCh", "refresh": "allbank", **ctrl})
    return replace(s, name="DDR4_2400U_ramulator", timing=t, controller=c)


def hbm2_dramsim3(**ctrl) -> DramSpec:
    """DRAMsim3 HBM2_8Gb_x128: 8 channels of 128 bit, 1 rank, 4x4 banks, BL4 (64 B)."""
    org = DramOrg(standard="HBM2", channels=8, ranks=1, bankgroups=4, banks_per_group=4, rows=32768,
                  columns=64, device_width=128, bus_width_bits=128, burst_length=4)
    t = DramTiming(tCK_ns=1.0, CL=14, CWL=4, tRCD_RD=14, tRCD_WR=14, tRP=14, tRAS=34, tRC=48, tBL=2,
                   tCCD_S=1, tCCD_L=2, tRRD_S=4, tRRD_L=6, tFAW=30, tWR=16, tWTR_S=6, tWTR_L=8, tRTP=5,
                   tRTRS=2, tREFI=3900, tRFC=260)
    c = ControllerConfig(**{"address_mapping": "rorabgbachco", "refresh": "staggered", "compat": "dramsim3",
                            **ctrl})
    return DramSpec(name="HBM2_8Gb_x128_dramsim3", org=org, timing=t, controller=c)


def hbm2_ramulator(channel_width: int = 64, **ctrl) -> DramSpec:
    """Ramulator 2.0 HBM2_8Gb + HBM2_2Gbps, 8 channels x 2 pseudo-channels, prefetch 2."""
    org = DramOrg(standard="HBM2", channels=8, pseudo_channels=2, ranks=1, bankgroups=4, banks_per_group=4,
                  rows=32768, columns=64, device_width=128, bus_width_bits=channel_width, burst_length=2)
    t = DramTiming(tCK_ns=1.0, CL=7, CWL=2, tRCD_RD=7, tRCD_WR=7, tRP=7, tRAS=17, tRC=19, tBL=4,
                   tCCD_S=1, tCCD_L=2, tRRD_S=2, tRRD_L=3, tFAW=15, tWR=8, tWTR_S=3, tWTR_L=4, tRTP=3,
                   tRTRS=0, tREFI=3900, tRFC=350)
    c = ControllerConfig(**{"address_mapping": "RoBaRaCoCh", "refresh": "allbank", "compat": "ramulator2",
                            **ctrl})
    return DramSpec(name=f"HBM2_2Gbps_ramulator_cw{channel_width}", org=org, timing=t, controller=c)


def gddr6_dramsim3(**ctrl) -> DramSpec:
    """DRAMsim3 GDDR6_8Gb_x16: 1 channel, 128-bit, 16 banks (bank groups off), BL16 (256 B)."""
    org = DramOrg(standard="GDDR6", channels=1, ranks=1, bankgroups=1, banks_per_group=16, rows=16384,
                  columns=128, device_width=16, bus_width_bits=128, burst_length=16)
    t = DramTiming(tCK_ns=0.66, CL=24, CWL=16, tRCD_RD=24, tRCD_WR=20, tRP=24, tRAS=54, tRC=78, tBL=1,
                   tCCD_S=3, tCCD_L=4, tRRD_S=9, tRRD_L=9, tFAW=32, tWR=16, tWTR_S=7, tWTR_L=7, tRTP=5,
                   tRTRS=1, tREFI=11862, tRFC=126, t32AW=420, tPPD=2)
    c = ControllerConfig(**{"address_mapping": "rochrababgco", "refresh": "staggered", "compat": "dramsim3",
                            **ctrl})
    return DramSpec(name="GDDR6_8Gb_x16_dramsim3", org=org, timing=t, controller=c)


def with_profile(spec: DramSpec, compat: str, **ctrl) -> DramSpec:
    """Same device, another controller profile / settings."""
    return spec.with_controller(compat=compat, **ctrl)


def kernel_groups(spec: DramSpec, log) -> tuple:
    """(unit, rank, flat bank in rank) of each logged command as the profile schedules them."""
    import numpy as np

    o = spec.org
    ch = log["channel"].astype(np.int64)
    rank = log["rank"].astype(np.int64)
    if spec.controller.compat == "ramulator2":
        unit = ch // o.pseudo_channels
        rank = (ch % o.pseudo_channels) * o.ranks + rank
    else:
        unit = ch
    b = np.where(log["bank"] >= 0, log["bankgroup"].astype(np.int64) * o.banks_per_group + log["bank"], -1)
    return unit, rank, b


def check_log(spec: DramSpec, log, table=None, max_cmds_per_cycle: int = 1) -> list[str]:
    """Brute-force protocol check of a command log against the profile's timing table.

    Checks every (preceding, following, scope, delay) row against the latest earlier command of
    each type in each bank, the activate windows, bank state (ACT only to a closed bank, RD/WR only
    to an open bank), and the number of commands per cycle per unit. Returns violations.
    """
    import numpy as np

    from sim.dram.commands import ACT, NAMES, PRE, PREA, RDA, REFAB, WRA
    from sim.dram.timing import build_table

    table = table or build_table(spec)
    o = spec.org
    unit, rank, bank = kernel_groups(spec, log)
    R = o.ranks * (o.pseudo_channels if spec.controller.compat == "ramulator2" else 1)
    NBK, BPG = o.banks, o.banks_per_group
    errors: list[str] = []
    order = np.lexsort((np.arange(len(log)), log["cycle"]))
    last: dict = {}
    acts: dict = {}
    open_row: dict = {}
    per_cycle: dict = {}
    rows_by_f: dict = {}
    for p, f, m, d in table.rows:
        rows_by_f.setdefault(int(f), []).append((int(p), int(m), int(d)))
    for i in order:
        t, c = int(log["cycle"][i]), int(log["cmd"][i])
        u, r, b = int(unit[i]), int(rank[i]), int(bank[i])
        key = (u, t)
        per_cycle[key] = per_cycle.get(key, 0) + 1
        if per_cycle[key] > max_cmds_per_cycle:
            errors.append(f"cycle {t} unit {u}: more than {max_cmds_per_cycle} commands")
        rank_cmd = c in (PREA, REFAB)
        for p, m, d in rows_by_f.get(c, []):
            for r2 in range(R):
                rel_rank = 8 if r2 != r else 7
                if not (m & rel_rank):
                    continue
                for b2 in range(NBK):
                    lt = last.get((u, r2, b2, p))
                    if lt is None:
                        continue
                    if r2 == r and not rank_cmd:
                        rel = 1 if b2 == b else (2 if b2 // BPG == b // BPG else 4)
                        if not (m & rel):
                            continue
                    if t < lt + d:
                        errors.append(f"cycle {t} unit {u} rank {r} bank {b}: {NAMES[c]} only {t - lt} after "
                                      f"{NAMES[p]} (needs {d}, scope {m})")
        if c == ACT:
            hist = acts.setdefault((u, r), [])
            for cnt, d in table.windows:
                if len(hist) >= cnt and t < hist[-int(cnt)] + d:
                    errors.append(f"cycle {t} unit {u} rank {r}: ACT breaks the {cnt}-activate window")
            hist.append(t)
            if open_row.get((u, r, b), -1) >= 0:
                errors.append(f"cycle {t}: ACT to an open bank")
            open_row[(u, r, b)] = int(log["row"][i])
        elif c == PRE:
            open_row[(u, r, b)] = -1
        elif c == PREA:
            for b2 in range(NBK):
                open_row[(u, r, b2)] = -1
        elif c == REFAB:
            if any(open_row.get((u, r, b2), -1) >= 0 for b2 in range(NBK)):
                errors.append(f"cycle {t}: REF with an open bank")
        elif not rank_cmd and c != 8:
            if open_row.get((u, r, b), -1) != int(log["row"][i]):
                errors.append(f"cycle {t}: {NAMES[c]} to bank {b} row {int(log['row'][i])} "
                              f"but open row is {open_row.get((u, r, b), -1)}")
            if c in (RDA, WRA):
                open_row[(u, r, b)] = -1
        targets = range(NBK) if rank_cmd else [b]
        for b2 in targets:
            last[(u, r, b2, c)] = t
    return errors
