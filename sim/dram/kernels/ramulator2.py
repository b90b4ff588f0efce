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
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.dram.commands import ACT, PRE, PREA, RD, RDA, REFAB, WR, WRA
from sim.dram.kernels.common import (
    E_KEY,
    E_NB,
    E_Q,
    E_RANK,
    E_ROW,
    E_STAMP,
    E_W,
    EW,
    INF,
    N_OPEN,
    OPEN_ROW,
    entry_move,
    entry_put,
    entry_remove,
    issue,
    log_cmd,
    ready_at,
)


@njit(cache=True)
def _cmd_of(bk, u, nb, row, w):
    o = bk[u, nb, OPEN_ROW]
    if o < 0:
        return ACT
    if o == row:
        return WR if w else RD
    return PRE


@njit(cache=True)
def _best(buf, nbuf, u, clk, ready, bk, BSH, RSH, OG, ORK):
    """Ramulator FRFCFS over one buffer: (position, command, ready, next) of the best request.

    Ready requests first, then the oldest arrival (stamps are unique). ``next`` is the earliest
    cycle > clk at which a request of the buffer becomes ready (INF if none); the position is -1
    for an empty buffer. Written as a min-reduction over a key to keep the loop branch-light.
    """
    best = -1
    best_key = INF
    nxt = INF
    for i in range(nbuf):
        nb = buf[u, i, E_NB]
        o = bk[u, nb, OPEN_ROW]
        # branch-free command choice: RD + is_write on a hit, ACT + is_open otherwise
        hit = np.int64(o == buf[u, i, E_ROW])
        c = hit * (RD + buf[u, i, E_W]) + (1 - hit) * (ACT + np.int64(o >= 0))
        t = ready_at(ready, u, nb, c, BSH, RSH, OG, ORK)
        late = np.int64(t > clk)
        key = buf[u, i, E_STAMP] + late * INF
        best = i if key < best_key else best
        best_key = min(key, best_key)
        nxt = min(nxt, t + (1 - late) * INF)
    if best < 0:
        return -1, -1, False, nxt
    nb = buf[u, best, E_NB]
    return best, _cmd_of(bk, u, nb, buf[u, best, E_ROW], buf[u, best, E_W]), best_key < INF, nxt


@njit(cache=True)
def run(arr, kunit, knb, krank, row, col, isw, akey,
        U, R, NBK, BPG, qmax_r, qmax_w, qmax_a, hi, lo, rd_lat, nrefi, tRFC,
        ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin, BSH, RSH, OG, ORK,
        log_on, lg, lg_n, skip):
    """Simulate the trace; returns (stamp, done, cls, lg, end_cycle, unfinished, forwarded)."""
    n = arr.shape[0]
    stamp = np.full(n, -1, dtype=np.int64)
    done = np.full(n, -1, dtype=np.int64)
    cls = np.full(n, -1, dtype=np.int64)
    rb = np.zeros((U, qmax_r + 1, EW), dtype=np.int64)
    wb = np.zeros((U, qmax_w + 1, EW), dtype=np.int64)
    ab = np.zeros((U, qmax_a + 1, EW), dtype=np.int64)
    rn = np.zeros(U, dtype=np.int64)
    wn = np.zeros(U, dtype=np.int64)
    an = np.zeros(U, dtype=np.int64)
    PCAP = 4096
    pb = np.zeros((U, PCAP), dtype=np.int64)
    ph = np.zeros(U, dtype=np.int64)
    pn = np.zeros(U, dtype=np.int64)
    wmode = np.zeros(U, dtype=np.int64)
    next_ref = np.full(U, INF, dtype=np.int64)
    wake = np.full(U, INF, dtype=np.int64)
    if nrefi > 0:
        for u in range(U):
            next_ref[u] = nrefi
            wake[u] = nrefi
    last_served = np.full(U, -INF, dtype=np.int64)

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
            ok = False
            if isw[q] == 0:
                fwd = False
                for i in range(wn[u]):
                    if wb[u, i, E_KEY] == akey[q]:
                        fwd = True
                        break
                if fwd:
                    nfwd += 1
                    s = clk if clk > last_served[u] + 1 else last_served[u] + 1
                    last_served[u] = s
                    done[q] = s
                    ok = True
                elif rn[u] <= qmax_r:
                    entry_put(rb, rn, u, q, knb[q], row[q], clk - 1, 0, col[q], akey[q], krank[q])
                    outstanding += 1
                    ok = True
            elif wn[u] <= qmax_w:
                entry_put(wb, wn, u, q, knb[q], row[q], clk - 1, 1, col[q], akey[q], krank[q])
                outstanding += 1
                ok = True
            if ok:
                stamp[q] = clk - 1
                nxt += 1
                if wake[u] > clk:
                    wake[u] = clk
            else:
                blocked = u
        if nxt >= n and outstanding == 0:
            break
        # ---- controller ticks ----
        for u in range(U):
            if wake[u] > clk:
                continue
            lg_n[2] += 1
            if nrefi > 0 and clk >= next_ref[u]:
                next_ref[u] += nrefi
                for r in range(R):
                    pb[u, (ph[u] + pn[u]) % PCAP] = r
                    pn[u] += 1
            found = False
            src = -1
            pos = -1
            cmd = -1
            m = next_ref[u]
            if an[u] > 0:
                pos, cmd, rdy, t = _best(ab, an[u], u, clk, ready, bk, BSH, RSH, OG, ORK)
                m = min(m, t)
                if rdy:
                    found = True
                    src = 0
            if not found:
                if pn[u] > 0:
                    r = pb[u, ph[u]]
                    cmd = PREA if rk[u, r, N_OPEN] > 0 else REFAB
                    t = ready[u, ORK + r, cmd]
                    if t <= clk:
                        found = True
                        src = 1
                    else:
                        m = min(m, t)
                else:
                    if wmode[u] == 0:
                        if wn[u] > hi or rn[u] == 0:
                            wmode[u] = 1
                    elif wn[u] < lo and rn[u] != 0:
                        wmode[u] = 0
                    if wmode[u] == 1:
                        if wn[u] > 0:
                            pos, cmd, found, t = _best(wb, wn[u], u, clk, ready, bk, BSH, RSH, OG, ORK)
                            m = min(m, t)
                            src = 3
                    elif rn[u] > 0:
                        pos, cmd, found, t = _best(rb, rn[u], u, clk, ready, bk, BSH, RSH, OG, ORK)
                        m = min(m, t)
                        src = 2
            if found and (cmd == PRE or cmd == PREA or cmd == RDA or cmd == WRA):
                if src == 1:
                    tr = pb[u, ph[u]]
                    tnb = -1
                else:
                    buf = ab if src == 0 else (rb if src == 2 else wb)
                    tr = buf[u, pos, E_RANK]
                    tnb = buf[u, pos, E_NB]
                for i in range(an[u]):
                    if ab[u, i, E_RANK] == tr and (tnb < 0 or ab[u, i, E_NB] == tnb):
                        found = False
                        break
            if found:
                if src == 1:
                    r = pb[u, ph[u]]
                    issue(ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin,
                          u, r, -1, -1, cmd, clk, R, NBK, BPG, BSH, OG, ORK, tRFC, 0)
                    if log_on:
                        lg = log_cmd(lg, lg_n, clk, cmd, u, r, -1, -1, -1)
                    if cmd == REFAB:
                        ph[u] = (ph[u] + 1) % PCAP
                        pn[u] -= 1
                else:
                    buf = ab if src == 0 else (rb if src == 2 else wb)
                    cnt = an if src == 0 else (rn if src == 2 else wn)
                    q = buf[u, pos, E_Q]
                    r = buf[u, pos, E_RANK]
                    nb = buf[u, pos, E_NB]
                    w = buf[u, pos, E_W]
                    rw = buf[u, pos, E_ROW]
                    final = WR if w else RD
                    if cls[q] < 0:
                        cls[q] = 0 if cmd == final else (2 if cmd == PRE else 1)
                    issue(ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin,
                          u, r, nb, rw, cmd, clk, R, NBK, BPG, BSH, OG, ORK, tRFC, 0)
                    if log_on:
                        lg = log_cmd(lg, lg_n, clk, cmd, u, r, nb - r * NBK, rw, col[q])
                    if cmd == final:
                        if w:
                            done[q] = clk
                        else:
                            s = clk + rd_lat
                            if s <= last_served[u]:
                                s = last_served[u] + 1
                            last_served[u] = s
                            done[q] = s
                        outstanding -= 1
                        entry_remove(buf, cnt, u, pos)
                    elif cmd == ACT and src != 0 and an[u] <= qmax_a:
                        entry_move(buf, cnt, u, pos, ab, an)
                wake[u] = clk + 1
            else:
                # nothing issued: the state only changes when a command becomes ready (the other
                # mode's buffer cannot issue before a size change, and a size change wakes the unit)
                wake[u] = m
        if not skip:
            for u in range(U):
                if wake[u] > clk + 1:
                    wake[u] = clk + 1
        # ---- next cycle ----
        nc = INF
        for u in range(U):
            if wake[u] < nc:
                nc = wake[u]
        if nxt < n:
            if blocked >= 0:
                f = clk + 1 if wake[blocked] <= clk + 1 else wake[blocked] + 1
            else:
                f = arr[nxt] + 1
            if f < nc:
                nc = f
        if nc >= INF:
            break
        clk = nc if nc > clk + 1 else clk + 1
    end = np.int64(0)
    unfinished = 0
    for q in range(n):
        if done[q] > end:
            end = done[q]
        if done[q] < 0:
            unfinished += 1
    return stamp, done, cls, lg, end, unfinished, nfwd
