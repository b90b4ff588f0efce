"""The ``ramulator2`` profile: Ramulator 2.0's Generic controller with its FRFCFS scheduler.

Per scheduling unit (one Ramulator channel; an HBM channel's pseudo-channels are its "ranks"):

* read and write ``ReqBuffer``s of ``max_size`` entries whose ``size <= max_size`` check admits one
  more (33 for 32), an active buffer (requests whose ACT has issued) and a priority buffer (REFab);
* each tick, in order: the refresh manager (every nREFI it queues one REFab per rank), the best
  active-buffer request if its next command is ready; otherwise the priority-buffer head, which
  blocks everything else while it is not ready; otherwise the read or write buffer chosen by the
  write mode (enter above ``hi`` writes or with no reads, leave below ``lo`` writes when reads
  wait). FRFCFS = ready commands first, then the oldest arrival;
* a closing command (PRE, PREA, RDA, WRA) that would close a bank an active-buffer request needs is
  vetoed (nothing issues that tick);
* at most one command per tick; a read departs ``rd_lat = nCL + nBL`` after its RD and returns
  through a FIFO that hands back at most one read per tick; a write is finished at its WR;
* a read whose address matches a queued write is forwarded (departs the next cycle).

Frontend: one request per cycle in trace order; a request with trace cycle ``a`` is first offered
at loop ``a`` and gets ``arrive = loop``; the controller ticks after the frontend with
``m_clk = loop + 1`` (kernel cycle ``clk`` is ``m_clk``).

Data layout (speed): each unit owns ``QW`` slots (read buffer, write buffer, active buffer) in flat
arrays: request id, bank, a lower bound of the cycle the request's next command becomes legal and
the bank version the bound was computed under. Buffers are kept in age order (the read and write
buffers fill in arrival order; the active buffer is kept sorted by arrival), so FRFCFS is "the first
ready slot" and the scan stops there. The command a request needs depends only on its bank's state
and next-allowed cycles only grow, so a bound holds while the bank's version
(:data:`~sim.dram.kernels.common.BK_VER`) is unchanged: a slot whose bound lies in the future is
skipped without looking at the timing state, and the earliest ready cycle (the wake-up) is found by
refining the smallest bound until it is exact. ``wcnt[key]`` counts the write-buffer entries of each
address, so forwarding is O(1). Hot loops index with unsigned integers (no wrap-around code).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uintp

from sim.dram.commands import ACT, PRE, PREA, RD, RDA, REFAB, WRA
from sim.dram.kernels.common import (
    BK_VER,
    BKW,
    G_BSH,
    G_NBK,
    G_NBT,
    G_OG,
    G_ORK,
    G_R,
    G_ROWS,
    G_RSH,
    G_U,
    INF,
    N_OPEN,
    NC,
    OPEN_ROW,
    RKW,
    earliest_ready,
    issue,
    log_cmd,
    ready_at,
)

#: per-unit scalars ``us[u * NUS + ...]``: buffer sizes, priority ring head and size, write mode,
#: next refresh, wake cycle, last read return (FIFO)
US_RN, US_WN, US_AN, US_PH, US_PN, US_WMODE, US_NEXT_REF, US_WAKE, US_LAST = range(9)
NUS = 9
#: ``pr`` parameters: buffer capacities, write watermarks (integer thresholds), read latency
#: (cycles), refresh interval (cycles, 0 = none), log and idle-skip switches
P_QR, P_QW, P_QA, P_HI, P_LO, P_RDLAT, P_NREFI, P_LOG, P_SKIP = range(9)
PCAP = 4096


def workspace(n_keys: int, U: int, qmax_r: int, qmax_w: int, qmax_a: int) -> tuple[np.ndarray, ...]:
    """Kernel work arrays ``(sid, snb, slb, sver, us, pb, wcnt)`` (allocated here: the kernel allocates
    nothing). The four slot arrays hold ``QW`` slots per unit."""
    qw = qmax_r + qmax_w + qmax_a + 3
    return (np.zeros(U * qw, dtype=np.int64), np.zeros(U * qw, dtype=np.int64), np.zeros(U * qw, dtype=np.int64),
            np.zeros(U * qw, dtype=np.int64), np.zeros(U * NUS, dtype=np.int64),
            np.zeros(U * PCAP, dtype=np.int64), np.zeros(max(1, n_keys), dtype=np.int64))


@njit(cache=True)
def run(arr, kunit, knb, row, col, isw, akey, stamp, done, cls, sid, snb, slb, sver, us, pb, wcnt, dev, gm, rd,
        bk, rk, pr, lg, lg_n):
    """Simulate the trace, filling ``stamp`` / ``done`` / ``cls``; returns the number of forwarded reads."""
    n = arr.shape[0]
    U = gm[G_U]
    R = gm[G_R]
    NBK = gm[G_NBK]
    NBT = gm[G_NBT]
    ROWS = gm[G_ROWS]
    BSH = gm[G_BSH]
    RSH = gm[G_RSH]
    OG = gm[G_OG]
    ORK = gm[G_ORK]
    qmax_r = pr[P_QR]
    qmax_w = pr[P_QW]
    qmax_a = pr[P_QA]
    hi = pr[P_HI]
    lo = pr[P_LO]
    rd_lat = pr[P_RDLAT]
    nrefi = pr[P_NREFI]
    log_on = pr[P_LOG] != 0
    skip = pr[P_SKIP] != 0
    QW = sid.shape[0] // U
    OFF_W = qmax_r + 1
    OFF_A = OFF_W + qmax_w + 1
    none = np.int64(-1)
    for u in range(U):
        us[u * NUS + US_NEXT_REF] = nrefi if nrefi > 0 else INF
        us[u * NUS + US_WAKE] = us[u * NUS + US_NEXT_REF]
        us[u * NUS + US_LAST] = -INF
    nxt = 0
    nfwd = 0
    outstanding = 0
    clk = np.int64(0)
    while True:
        lg_n[1] += 1
        # ---- frontend: at most one request per cycle, in order ----
        blocked = -1
        if nxt < n and arr[nxt] + 1 <= clk:
            q = nxt
            u = kunit[q]
            v = u * NUS
            ok = False
            j = -1                # the slot it takes (none when forwarded)
            if isw[q] == 0:
                if us[v + US_WN] > 0 and wcnt[akey[q]] > 0:
                    nfwd += 1
                    s = max(clk, us[v + US_LAST] + 1)
                    us[v + US_LAST] = s
                    done[q] = s
                    ok = True
                elif us[v + US_RN] <= qmax_r:
                    j = u * QW + us[v + US_RN]
                    us[v + US_RN] += 1
            elif us[v + US_WN] <= qmax_w:
                j = u * QW + OFF_W + us[v + US_WN]
                us[v + US_WN] += 1
                wcnt[akey[q]] += 1
            if j >= 0:
                sid[j] = q
                snb[j] = knb[q]
                slb[j] = -INF
                outstanding += 1
                ok = True
            if ok:
                stamp[q] = clk - 1
                nxt += 1
                us[v + US_WAKE] = min(us[v + US_WAKE], clk)
            else:
                blocked = u
        if nxt >= n and outstanding == 0:
            break
        # ---- controller ticks ----
        nc = INF
        for u in range(U):
            v = u * NUS
            if us[v + US_WAKE] <= clk:
                lg_n[2] += 1
                ub = u * ROWS
                ubk = u * NBT
                base = u * QW
                if nrefi > 0 and clk >= us[v + US_NEXT_REF]:
                    us[v + US_NEXT_REF] += nrefi
                    for r in range(R):
                        pb[u * PCAP + (us[v + US_PH] + us[v + US_PN]) % PCAP] = r
                        us[v + US_PN] += 1
                m = us[v + US_NEXT_REF]
                an = us[v + US_AN]
                found = False
                src = 0           # 0 active, 1 priority, 2 read, 3 write buffer
                off = base + OFF_A
                cnt = an
                pos = -1
                cmd = -1
                refine_a = False  # wake-up: refine the bounds of the active buffer / the scanned buffer
                refine_b = False
                # the active buffer, then (if nothing is ready there) the priority buffer or the
                # read / write buffer: the first ready slot in age order is FRFCFS's choice
                for phase in range(2):
                    if phase == 1:
                        if found:
                            break
                        if us[v + US_PN] > 0:
                            r = pb[u * PCAP + us[v + US_PH]]
                            cmd = PREA if rk[(u * R + r) * RKW + N_OPEN] > 0 else REFAB
                            t = rd[(ub + ORK + r) * NC + cmd]
                            if t <= clk:
                                found = True
                                src = 1
                            else:
                                m = min(m, t)
                            break
                        wn = us[v + US_WN]
                        rn = us[v + US_RN]
                        if us[v + US_WMODE] == 0:
                            if wn > hi or rn == 0:
                                us[v + US_WMODE] = 1
                        elif wn < lo and rn != 0:
                            us[v + US_WMODE] = 0
                        if us[v + US_WMODE] == 1:
                            src, off, cnt = 3, base + OFF_W, wn
                        else:
                            src, off, cnt = 2, base, rn
                    j = off
                    while j < off + cnt:
                        x = uintp(j)
                        nb = snb[x]
                        if slb[x] <= clk or sver[x] != bk[(ubk + nb) * BKW + BK_VER]:
                            q = sid[x]
                            o = bk[(ubk + nb) * BKW + OPEN_ROW]
                            c = RD + isw[q] if o == row[q] else (PRE if o >= 0 else ACT)
                            t = ready_at(rd, ub, nb, c, BSH, RSH, OG, ORK)
                            slb[x] = t
                            sver[x] = bk[(ubk + nb) * BKW + BK_VER]
                            if t <= clk:
                                found = True
                                pos = j
                                cmd = c
                                break
                        j += 1
                    if not found:
                        if phase == 0:
                            refine_a = True
                        else:
                            refine_b = True
                if found and (cmd == PRE or cmd == PREA or cmd == RDA or cmd == WRA):
                    # a close of a bank an active-buffer request needs is vetoed
                    if src == 1:
                        tr = pb[u * PCAP + us[v + US_PH]]
                        tnb = -1
                    else:
                        tnb = snb[pos]
                        tr = tnb >> RSH
                    for j in range(base + OFF_A, base + OFF_A + an):
                        if (snb[j] >> RSH) == tr and (tnb < 0 or snb[j] == tnb):
                            found = False
                            break
                    if not found and src != 1:
                        # the scan stopped at the vetoed slot: bring the later bounds up to date; the
                        # wake-up is the earliest of the late slots (ready ones keep bounds <= clk)
                        for j in range(pos + 1, off + cnt):
                            nb = snb[j]
                            if slb[j] <= clk or sver[j] != bk[(ubk + nb) * BKW + BK_VER]:
                                q = sid[j]
                                o = bk[(ubk + nb) * BKW + OPEN_ROW]
                                c = RD + isw[q] if o == row[q] else (PRE if o >= 0 else ACT)
                                slb[j] = ready_at(rd, ub, nb, c, BSH, RSH, OG, ORK)
                                sver[j] = bk[(ubk + nb) * BKW + BK_VER]
                        if src == 0:
                            refine_a = True
                        else:
                            refine_b = True
                for which in range(2):
                    if which == 0 and not refine_a or which == 1 and not refine_b:
                        continue
                    rlo = base + OFF_A if which == 0 else off
                    rhi = rlo + (an if which == 0 else cnt)
                    # every bound in the range is current: its earliest ready cycle is the wake-up
                    m = min(m, earliest_ready(slb, snb, sid, row, isw, bk, rd, rlo, rhi, clk, ubk, ub, BSH, RSH,
                                              OG, ORK, False, slb, 0, 0, 1))
                if found:
                    if src == 1:
                        r = pb[u * PCAP + us[v + US_PH]]
                        issue(dev, u, r, none, none, cmd, clk)
                        if log_on:
                            log_cmd(lg, lg_n, clk, cmd, u, r, none, none, none)
                        if cmd == REFAB:
                            us[v + US_PH] = (us[v + US_PH] + 1) % PCAP
                            us[v + US_PN] -= 1
                    else:
                        q = sid[pos]
                        nb = snb[pos]
                        r = nb >> RSH
                        w = isw[q]
                        rw = row[q]
                        final = RD + w
                        if cls[q] < 0:
                            cls[q] = 0 if cmd == final else (2 if cmd == PRE else 1)
                        issue(dev, u, r, nb, rw, cmd, clk)
                        if log_on:
                            log_cmd(lg, lg_n, clk, cmd, u, r, nb - r * NBK, rw, col[q])
                        leave = cmd == final or (cmd == ACT and src != 0 and an <= qmax_a)
                        if cmd == final:
                            if w:
                                done[q] = clk
                            else:
                                s = clk + rd_lat
                                if s <= us[v + US_LAST]:
                                    s = us[v + US_LAST] + 1
                                us[v + US_LAST] = s
                                done[q] = s
                            outstanding -= 1
                        if leave:
                            for j in range(pos, off + cnt - 1):
                                x = uintp(j)
                                y = uintp(j + 1)
                                sid[x] = sid[y]
                                snb[x] = snb[y]
                                slb[x] = slb[y]
                                sver[x] = sver[y]
                            us[v + (US_AN if src == 0 else (US_RN if src == 2 else US_WN))] -= 1
                            if src == 3:
                                wcnt[akey[q]] -= 1
                        if leave and cmd == ACT:
                            # into the active buffer, kept sorted by arrival
                            j = base + OFF_A + an
                            while j > base + OFF_A and stamp[sid[j - 1]] > stamp[q]:
                                sid[j] = sid[j - 1]
                                snb[j] = snb[j - 1]
                                slb[j] = slb[j - 1]
                                sver[j] = sver[j - 1]
                                j -= 1
                            sid[j] = q
                            snb[j] = nb
                            slb[j] = -INF
                            us[v + US_AN] = an + 1
                    us[v + US_WAKE] = clk + 1
                else:
                    # nothing issued: the state only changes when a command becomes ready (the other
                    # mode's buffer cannot issue before a size change, and a size change wakes the unit)
                    us[v + US_WAKE] = m
            if not skip:
                us[v + US_WAKE] = min(us[v + US_WAKE], clk + 1)
            nc = min(nc, us[v + US_WAKE])
        # ---- next cycle ----
        if nxt < n:
            if blocked >= 0:
                wb = us[blocked * NUS + US_WAKE]
                f = clk + 1 if wb <= clk + 1 else wb + 1
            else:
                f = arr[nxt] + 1
            nc = min(nc, f)
        if nc >= INF:
            break
        clk = max(nc, clk + 1)
    return nfwd
