"""The ``default`` profile: pimsim's own JEDEC-correct controller.

Per scheduling unit ((pseudo-)channel):

* a read queue and a write queue; the frontend's request is accepted in the cycle it is offered
  and its first command may issue in that cycle. A read of a line with a queued write is answered
  the next cycle (forwarding); a write to a line with a queued write is merged into it.
* write mode with watermarks: enter at ``hi`` queued writes (or when no read waits), leave at
  ``lo`` writes when reads wait (or when the write queue is empty);
* FR-FCFS (``sched`` 0): first a request whose row was activated for it (its "owner") when its
  column command is ready, from either queue (an owned row is never precharged before its owner is
  served); then the oldest request whose column command is ready on an open row; otherwise the
  oldest request whose ACT or PRE is ready, where a PRE that would close a row with queued hits
  waits until that row served ``HIT_CAP`` column commands. FCFS (``sched`` 1): only the oldest
  request of the active queue;
* page policy: open; closed (RDA/WRA when no other queued request targets the row); timeout (a
  bank with no queued request is precharged ``timeout`` cycles after its last column command);
* refresh: all-bank (every rank every tREFI), rank-staggered (rank r at (r+1) tREFI / ranks, then
  every tREFI) or per-bank (one bank per rank every tREFIpb, round robin). A rank (bank) due for
  refresh receives no request commands; open banks are closed with PREA (PRE) as soon as legal,
  then REF (REFpb) issues;
* one command per cycle, except HBM: one row command (ACT/PRE/PREA/REF) and one column command
  (RD/WR/RDA/WRA) per cycle on the separate row and column command buses;
* a read returns ``RL + tBL`` after its RD; a write completes at its WR.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.dram.commands import ACT, PRE, PREA, RD, RDA, REFAB, REFPB, WR, WRA
from sim.dram.kernels._old_common import (
    COL_HITS,
    E_COL,
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
    entry_put,
    entry_remove,
    issue,
    log_cmd,
    ready_at,
)

HIT_CAP = 16


@njit(cache=True)
def _others_on_row(u, pos, buf, nbuf, nb, rw):
    for i in range(nbuf):
        if i != pos and buf[u, i, E_NB] == nb and buf[u, i, E_ROW] == rw:
            return True
    return False


@njit(cache=True)
def _drop_owner(u, x, owner, olist, opos, on):
    if owner[u, x] >= 0:
        owner[u, x] = -1
        k = opos[u, x]
        last = olist[u, on[u] - 1]
        olist[u, k] = last
        opos[u, last] = k
        on[u] -= 1


@njit(cache=True)
def _select(u, clk, want, buf, nbuf, sched, ready, bk, refblk, ref_pend, pb_pend, hitgen, gen, cand, owner,
            NBK, BSH, RSH, OG, ORK):
    """One pass over a queue: (position, command, next) of the request to serve.

    ``want`` 0 any, 1 row commands, 2 column commands. The oldest ready column command on an open
    row wins; otherwise the oldest ready ACT or PRE, where a PRE waits while the active queue still
    holds a hit for the open row (unless it served HIT_CAP column commands, or under FCFS).
    ``next`` is the earliest cycle > clk at which a non-ready request's command becomes ready.
    ``hitgen[u, nb] == gen`` marks banks with a queued hit (no clearing needed between calls).
    ``owner[u, nb] >= 0``: the open row was activated for a request not served yet (no PRE).
    The hit choice is a min-reduction over keys (queue order = age order) to keep the loop
    branch-light.
    """
    nxt = INF
    ncand = 0
    best_hit = -1
    best_key = INF
    lim = nbuf if sched == 0 else min(nbuf, 1)
    col_ok = np.int64(want != 1)
    row_ok = np.int64(want != 2)
    for i in range(lim):
        nb = buf[u, i, E_NB]
        if refblk:
            r = buf[u, i, E_RANK]
            if ref_pend[u, r] != 0 or pb_pend[u, r] == nb - r * NBK:
                continue
        o = bk[u, nb, OPEN_ROW]
        # branch-free: RD + is_write on a hit, ACT + is_open otherwise
        hit = np.int64(o == buf[u, i, E_ROW])
        hitgen[u, nb] = max(hitgen[u, nb], hit * gen)
        c = hit * (RD + buf[u, i, E_W]) + (1 - hit) * (ACT + np.int64(o >= 0))
        t = ready_at(ready, u, nb, c, BSH, RSH, OG, ORK)
        late = np.int64(t > clk)
        nxt = min(nxt, t + (1 - late) * INF)
        take_hit = hit * (1 - late) * col_ok
        key = i + (1 - take_hit) * INF
        best_hit = i if key < best_key else best_hit
        best_key = min(key, best_key)
        cand[u, ncand] = i
        ncand += (1 - hit) * (1 - late) * row_ok
    if best_hit >= 0:
        return best_hit, (WR if buf[u, best_hit, E_W] else RD), nxt
    for k in range(ncand):
        i = cand[u, k]
        nb = buf[u, i, E_NB]
        if bk[u, nb, OPEN_ROW] < 0:
            return i, ACT, nxt
        free = owner[u, nb] < 0 and (hitgen[u, nb] != gen or bk[u, nb, COL_HITS] >= HIT_CAP)
        if sched == 1 or free:
            return i, PRE, nxt
    return -1, -1, nxt


@njit(cache=True)
def run(arr, kunit, knb, krank, row, col, isw, akey,
        U, R, NBK, BPG, qr, qw, hi, lo, sched, policy, timeout, rd_lat, ref_mode, interval,
        tRFC, tRFCpb, dual,
        ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin, BSH, RSH, OG, ORK,
        log_on, lg, lg_n, skip):
    """Simulate the trace; returns (stamp, done, cls, lg, end, unfinished, merged, forwarded)."""
    n = arr.shape[0]
    NBT = R * NBK
    stamp = np.full(n, -1, dtype=np.int64)
    done = np.full(n, -1, dtype=np.int64)
    cls = np.full(n, -1, dtype=np.int64)
    rq = np.zeros((U, qr, EW), dtype=np.int64)
    wq = np.zeros((U, qw, EW), dtype=np.int64)
    rn = np.zeros(U, dtype=np.int64)
    wn = np.zeros(U, dtype=np.int64)
    wmode = np.zeros(U, dtype=np.int64)
    hitgen = np.zeros((U, NBT), dtype=np.int64)
    cand = np.zeros((U, max(qr, qw) + 1), dtype=np.int64)
    owner = np.full((U, NBT), -1, dtype=np.int64)        # request the open row was activated for
    owner_w = np.zeros((U, NBT), dtype=np.int64)
    owner_st = np.zeros((U, NBT), dtype=np.int64)
    olist = np.zeros((U, NBT), dtype=np.int64)           # banks with an owner
    opos = np.zeros((U, NBT), dtype=np.int64)
    on = np.zeros(U, dtype=np.int64)
    gen = np.int64(0)
    qcount = np.zeros((U, NBT), dtype=np.int64)
    last_col = np.zeros((U, NBT), dtype=np.int64)
    ref_due = np.full((U, R), INF, dtype=np.int64)
    ref_pend = np.zeros((U, R), dtype=np.int64)
    pb_pend = np.full((U, R), -1, dtype=np.int64)
    pb_next = np.zeros((U, R), dtype=np.int64)
    wake = np.full(U, INF, dtype=np.int64)
    for u in range(U):
        for r in range(R):
            if ref_mode == 1 or ref_mode == 3:
                ref_due[u, r] = interval
            elif ref_mode == 2:
                ref_due[u, r] = (r + 1) * interval
            if ref_due[u, r] < wake[u]:
                wake[u] = ref_due[u, r]
    nkeys = 1
    for q in range(n):
        if akey[q] + 1 > nkeys:
            nkeys = akey[q] + 1
    wkey = np.zeros(nkeys, dtype=np.int64)
    merged = 0
    fwd = 0
    nxt = 0
    outstanding = 0
    clk = np.int64(0)
    while True:
        lg_n[1] += 1
        # ---- frontend ----
        blocked = -1
        if nxt < n and arr[nxt] <= clk:
            q = nxt
            u = kunit[q]
            k = akey[q]
            ok = False
            queued = False
            if isw[q]:
                if wkey[k] > 0:
                    merged += 1
                    done[q] = clk
                    ok = True
                elif wn[u] < qw:
                    entry_put(wq, wn, u, q, knb[q], row[q], clk, 1, col[q], k, krank[q])
                    wkey[k] += 1
                    queued = True
            elif wkey[k] > 0:
                fwd += 1
                done[q] = clk + 1
                ok = True
            elif rn[u] < qr:
                entry_put(rq, rn, u, q, knb[q], row[q], clk, 0, col[q], k, krank[q])
                queued = True
            if queued:
                outstanding += 1
                qcount[u, knb[q]] += 1
                ok = True
            if ok:
                stamp[q] = clk
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
            # refresh bookkeeping
            for r in range(R):
                if ref_mode != 0 and clk >= ref_due[u, r]:
                    if ref_mode == 3:
                        if pb_pend[u, r] < 0:
                            pb_pend[u, r] = pb_next[u, r]
                            pb_next[u, r] = (pb_next[u, r] + 1) % NBK
                            ref_due[u, r] += interval
                    else:
                        ref_pend[u, r] = 1
                        ref_due[u, r] += interval * R if ref_mode == 2 else interval
            # write mode
            if wmode[u] == 0:
                if wn[u] >= hi or (rn[u] == 0 and wn[u] > 0):
                    wmode[u] = 1
            elif wn[u] == 0 or (wn[u] <= lo and rn[u] > 0):
                wmode[u] = 0
            act = wq if wmode[u] else rq
            nact = wn[u] if wmode[u] else rn[u]
            refblk = False
            for r in range(R):
                if ref_pend[u, r] != 0 or pb_pend[u, r] >= 0:
                    refblk = True
            m = INF
            issued = False
            used_row = False
            used_col = False
            for slot in range(2):
                if slot == 1 and not (dual and issued):
                    break
                want = 0 if slot == 0 else (2 if used_row else 1)
                cmd = -1
                tr = -1
                tbk = -1
                pos = -1
                # 1. refresh commands (row class)
                if want != 2:
                    for r in range(R):
                        if ref_pend[u, r]:
                            c = PREA if rk[u, r, N_OPEN] > 0 else REFAB
                            if ready[u, ORK + r, c] <= clk:
                                cmd = c
                                tr = r
                                break
                        elif pb_pend[u, r] >= 0:
                            nb = r * NBK + pb_pend[u, r]
                            c = PRE if bk[u, nb, OPEN_ROW] >= 0 else REFPB
                            if ready_at(ready, u, nb, c, BSH, RSH, OG, ORK) <= clk:
                                cmd = c
                                tr = r
                                tbk = pb_pend[u, r]
                                break
                # 2. requests whose row was activated for them, whichever queue they are in
                src_w = wmode[u]
                if cmd < 0 and sched == 0 and want != 1 and on[u] > 0:
                    best_st = INF
                    best_nb = -1
                    for k in range(on[u]):
                        nb = olist[u, k]
                        r = nb >> RSH
                        if refblk and (ref_pend[u, r] != 0 or pb_pend[u, r] == nb - r * NBK):
                            continue
                        t = ready_at(ready, u, nb, WR if owner_w[u, nb] else RD, BSH, RSH, OG, ORK)
                        if t > clk:
                            m = min(m, t)
                        elif owner_st[u, nb] < best_st:
                            best_st = owner_st[u, nb]
                            best_nb = nb
                    if best_nb >= 0:
                        src_w = owner_w[u, best_nb]
                        sb = wq if src_w else rq
                        for i in range(wn[u] if src_w else rn[u]):
                            if sb[u, i, E_Q] == owner[u, best_nb]:
                                pos = i
                                break
                        cmd = WR if src_w else RD
                        tr = best_nb >> RSH
                        tbk = best_nb - tr * NBK
                # 3. requests of the active queue
                if cmd < 0:
                    gen += 1
                    pos, c, t = _select(u, clk, want, act, nact, sched, ready, bk, refblk, ref_pend, pb_pend,
                                        hitgen, gen, cand, owner, NBK, BSH, RSH, OG, ORK)
                    if t < m:
                        m = t
                    if pos >= 0:
                        cmd = c
                        tr = act[u, pos, E_RANK]
                        tbk = act[u, pos, E_NB] - tr * NBK
                # 4. timeout policy: close idle banks
                if cmd < 0 and policy == 2 and want != 2:
                    for nb in range(NBT):
                        idle = bk[u, nb, OPEN_ROW] >= 0 and qcount[u, nb] == 0
                        if idle and last_col[u, nb] + timeout <= clk and ready_at(
                                ready, u, nb, PRE, BSH, RSH, OG, ORK) <= clk:
                            cmd = PRE
                            tr = nb // NBK
                            tbk = nb % NBK
                            break
                if cmd < 0:
                    break
                sb = wq if src_w else rq
                q = sb[u, pos, E_Q] if pos >= 0 else -1
                rw = sb[u, pos, E_ROW] if pos >= 0 else -1
                cl = sb[u, pos, E_COL] if pos >= 0 else -1
                if pos >= 0 and (cmd == RD or cmd == WR) and policy == 1:
                    nb = tr * NBK + tbk
                    shared = _others_on_row(u, -1 if src_w else pos, rq, rn[u], nb, rw)
                    if not (shared or _others_on_row(u, pos if src_w else -1, wq, wn[u], nb, rw)):
                        cmd = RDA if cmd == RD else WRA
                is_col = cmd == RD or cmd == WR or cmd == RDA or cmd == WRA
                if pos >= 0 and cls[q] < 0:
                    cls[q] = 0 if is_col else (1 if cmd == ACT else 2)
                if cmd == PREA or cmd == REFAB:
                    tbk = -1
                issue(ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin,
                      u, tr, tr * NBK + tbk if tbk >= 0 else -1, rw, cmd, clk, R, NBK, BPG, BSH, OG, ORK,
                      tRFC, tRFCpb)
                if log_on:
                    lg = log_cmd(lg, lg_n, clk, cmd, u, tr, tbk, rw, cl)
                issued = True
                if is_col:
                    used_col = True
                    last_col[u, tr * NBK + tbk] = clk
                else:
                    used_row = True
                if cmd == REFAB:
                    ref_pend[u, tr] = 0
                elif cmd == REFPB:
                    pb_pend[u, tr] = -1
                # row ownership: set by an ACT for a request, cleared by its column command or a close
                nbi = tr * NBK + tbk
                if cmd == PREA:
                    for x in range(tr * NBK, tr * NBK + NBK):
                        _drop_owner(u, x, owner, olist, opos, on)
                elif cmd == PRE or cmd == RDA or cmd == WRA or (is_col and owner[u, nbi] == q):
                    _drop_owner(u, nbi, owner, olist, opos, on)
                if cmd == ACT and pos >= 0 and sched == 0:
                    owner[u, nbi] = q
                    owner_w[u, nbi] = src_w
                    owner_st[u, nbi] = sb[u, pos, E_STAMP]
                    olist[u, on[u]] = nbi
                    opos[u, nbi] = on[u]
                    on[u] += 1
                if is_col and pos >= 0:
                    qcount[u, nbi] -= 1
                    if src_w:
                        wkey[wq[u, pos, E_KEY]] -= 1
                        done[q] = clk
                        entry_remove(wq, wn, u, pos)
                    else:
                        done[q] = clk + rd_lat
                        entry_remove(rq, rn, u, pos)
                    nact = wn[u] if wmode[u] else rn[u]
                    outstanding -= 1
                if used_row and used_col:
                    break
            if issued:
                wake[u] = clk + 1
            else:
                # the other queue cannot issue before a size change, which wakes the unit
                for r in range(R):
                    if ref_due[u, r] < m:
                        m = ref_due[u, r]
                    if ref_pend[u, r]:
                        c = PREA if rk[u, r, N_OPEN] > 0 else REFAB
                        t = ready[u, ORK + r, c]
                        if t > clk and t < m:
                            m = t
                    elif pb_pend[u, r] >= 0:
                        nb = r * NBK + pb_pend[u, r]
                        c = PRE if bk[u, nb, OPEN_ROW] >= 0 else REFPB
                        t = ready_at(ready, u, nb, c, BSH, RSH, OG, ORK)
                        if t > clk and t < m:
                            m = t
                if policy == 2:
                    for nb in range(NBT):
                        if bk[u, nb, OPEN_ROW] >= 0 and qcount[u, nb] == 0:
                            t = max(last_col[u, nb] + timeout, ready_at(ready, u, nb, PRE, BSH, RSH, OG, ORK))
                            if t > clk and t < m:
                                m = t
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
                f = arr[nxt]
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
    return stamp, done, cls, lg, end, unfinished, merged, fwd
