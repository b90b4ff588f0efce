"""The ``dramsim3`` profile: DRAMsim3's JEDEC controller (``controller.cc``, ``command_queue.cc``).

Per channel (scheduling unit):

* transaction queues: a read queue and a write buffer of ``tq_r`` / ``tq_w`` entries. A write is
  posted (acknowledged the next cycle); a write to an address already pending is dropped into it;
  a read of an address with a pending write is answered the next cycle; a read of an address
  already pending is merged (one RD returns them all). Addresses compare as full byte addresses.
* per-bank command queues of ``cq_size`` entries, fed by ``ScheduleTransaction``: at most one
  transaction per cycle, the oldest whose bank queue has room, from the write buffer while
  draining, else from the read queue. Draining starts when the write buffer is full, or holds more
  than 8 writes while every command queue is empty, and lasts for as many writes as were buffered
  then; a write whose address has a pending read stops the drain (the R->W dependency). Writes
  left below that threshold at the end of a trace are never issued (``writes_undrained``).
* ``GetCommandToIssue``: round-robin over the bank queues (starting after the last queue that
  yielded a command); in a queue, the first entry whose required command (ACT / PRE / RD / WR
  from the bank state) is timing-ready; a PRE only for the queue's first entry and only if no
  queued entry hits the open row or the row already served >= 4 column commands; a WR waits for
  an older RD to the same row and column in its queue.
* refresh: every ``tREFI / ranks`` cycles (``clk % interval == 0``) the next rank needs a
  refresh; while one is pending its queues are skipped, its open banks are precharged one per
  cycle, then REF issues. ``allbank`` queues every rank each tREFI instead.
* HBM dual issue: after a command, a second one in the same cycle if exactly one is RD/WR.
* a RD completes its reads at ``clk + RL + burst``; a WR completes its write at issue.

Kernel cycle ``clk`` is the controller clock: a trace request of cycle ``a`` is offered by the CPU
after the memory tick of cycle ``a`` and is accepted with ``added_cycle = a + 1``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.dram.commands import ACT, PRE, RD, RDA, REFAB, WR, WRA
from sim.dram.kernels._old_common import (
    COL_HITS,
    E_COL,
    E_KEY,
    E_NB,
    E_Q,
    E_ROW,
    E_W,
    EW,
    INF,
    OPEN_ROW,
    entry_put,
    entry_remove,
    issue,
    log_cmd,
    ready_at,
)


@njit(cache=True)
def _required(bk, u, nb, row, w, close):
    o = bk[u, nb, OPEN_ROW]
    if o < 0:
        return ACT
    if o == row:
        if w:
            return WRA if close else WR
        return RDA if close else RD
    return PRE


@njit(cache=True)
def _get_command(u, clk, cq, cqn, rr, in_ref, ref_rank, ready, bk, NQ, NBK, close, BSH, RSH, OG, ORK):
    """DRAMsim3 GetCommandToIssue: (queue, entry, command, next); updates the round-robin pointer.

    ``cq`` holds the bank queues of all units as ``[u * NQ + queue, entry, field]``. When nothing is
    ready, ``next`` is the earliest cycle > clk at which a scanned entry's command becomes legal.
    """
    base = u * NQ
    nxt = INF
    for i in range(NQ):
        qi = (rr[u] + 1 + i) % NQ
        if in_ref[u] and qi // NBK == ref_rank[u]:
            continue
        nq = cqn[base + qi]
        if nq == 0:
            continue
        o = bk[u, qi, OPEN_ROW]
        if o < 0:
            # every entry needs the same ACT: the first one gets it
            t = ready_at(ready, u, qi, ACT, BSH, RSH, OG, ORK)
            if t <= clk:
                rr[u] = qi
                return qi, 0, ACT, nxt
            if t < nxt:
                nxt = t
            continue
        for j in range(nq):
            rw = cq[base + qi, j, E_ROW]
            w = cq[base + qi, j, E_W]
            c = _required(bk, u, qi, rw, w, close)
            # RDA / WRA have the constraints of RD / WR (the compiled table folds them)
            t = ready_at(ready, u, qi, RD if c == RDA else (WR if c == WRA else c), BSH, RSH, OG, ORK)
            if t > clk:
                if t < nxt:
                    nxt = t
                continue
            if c == PRE:
                if j != 0:
                    continue
                hits = False
                for j2 in range(j, nq):
                    if cq[base + qi, j2, E_ROW] == o:
                        hits = True
                        break
                if hits and bk[u, qi, COL_HITS] < 4:
                    continue
            elif w:
                dep = False
                for j2 in range(j):
                    if (cq[base + qi, j2, E_W] == 0 and cq[base + qi, j2, E_ROW] == rw
                            and cq[base + qi, j2, E_COL] == cq[base + qi, j, E_COL]):
                        dep = True
                        break
                if dep:
                    continue
            rr[u] = qi
            return qi, j, c, nxt
    return -1, -1, -1, nxt


@njit(cache=True)
def _refresh_command(u, r, clk, ready, bk, NBK, BSH, RSH, OG, ORK):
    """FinishRefresh: (PRE, bank) for the first ready open bank, (REF, -1) when all closed and ready."""
    any_open = False
    for b in range(NBK):
        nb = r * NBK + b
        if bk[u, nb, OPEN_ROW] >= 0:
            any_open = True
            if ready_at(ready, u, nb, PRE, BSH, RSH, OG, ORK) <= clk:
                return PRE, b
    if any_open:
        return -1, -1
    if ready[u, ORK + r, REFAB] <= clk:
        return REFAB, -1
    return -1, -1


@njit(cache=True)
def run(arr, kunit, knb, krank, row, col, isw, akey,
        U, R, NBK, BPG, tq_r, tq_w, cq_size, read_delay, ref_mode, ref_interval, tRFC, dual, close,
        ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin, BSH, RSH, OG, ORK,
        log_on, lg, lg_n, skip):
    """Simulate the trace; returns (stamp, done, cls, lg, end, unfinished, merged, undrained, fwd)."""
    n = arr.shape[0]
    NQ = R * NBK
    stamp = np.full(n, -1, dtype=np.int64)
    done = np.full(n, -1, dtype=np.int64)
    cls = np.full(n, -1, dtype=np.int64)
    rq = np.zeros((U, tq_r, EW), dtype=np.int64)
    wq = np.zeros((U, tq_w, EW), dtype=np.int64)
    rn = np.zeros(U, dtype=np.int64)
    wn = np.zeros(U, dtype=np.int64)
    cq = np.zeros((U * NQ, cq_size, EW), dtype=np.int64)
    cqn = np.zeros(U * NQ, dtype=np.int64)
    cqt = np.zeros(U, dtype=np.int64)
    rr = np.zeros(U, dtype=np.int64)
    wd = np.zeros(U, dtype=np.int64)
    RQC = 256
    refq = np.zeros((U, RQC), dtype=np.int64)
    rh = np.zeros(U, dtype=np.int64)
    rcnt = np.zeros(U, dtype=np.int64)
    next_rank = np.zeros(U, dtype=np.int64)
    in_ref = np.zeros(U, dtype=np.int64)
    ref_rank = np.zeros(U, dtype=np.int64)
    next_ins = np.full(U, INF, dtype=np.int64)
    wake = np.full(U, INF, dtype=np.int64)
    if ref_mode > 0:
        for u in range(U):
            next_ins[u] = ref_interval
            wake[u] = ref_interval
    nkeys = 1
    for q in range(n):
        if akey[q] + 1 > nkeys:
            nkeys = akey[q] + 1
    prd_cnt = np.zeros(nkeys, dtype=np.int64)
    prd_head = np.full(nkeys, -1, dtype=np.int64)
    prd_tail = np.full(nkeys, -1, dtype=np.int64)
    rnext = np.full(n, -1, dtype=np.int64)
    pwr = np.zeros(nkeys, dtype=np.int64)

    merged = 0
    fwd = 0
    nxt = 0
    outstanding = 0
    last_progress = np.int64(0)
    limit = np.int64(1000000) + 8 * ref_interval * R
    clk = np.int64(0)
    while True:
        lg_n[1] += 1
        # ---- CPU: offers the next request after the memory tick of the previous cycle ----
        blocked = -1
        if nxt < n and arr[nxt] + 1 <= clk:
            q = nxt
            u = kunit[q]
            k = akey[q]
            ok = False
            if isw[q]:
                if wn[u] < tq_w:
                    ok = True
                    if pwr[k] == 0:
                        pwr[k] = 1
                        entry_put(wq, wn, u, q, knb[q], row[q], clk, 1, col[q], k, krank[q])
                        outstanding += 1
                    else:
                        merged += 1
                        done[q] = clk + 1
            elif rn[u] < tq_r:
                ok = True
                if pwr[k]:
                    fwd += 1
                    done[q] = clk + 1
                else:
                    if prd_cnt[k] == 0:
                        prd_head[k] = q
                        entry_put(rq, rn, u, q, knb[q], row[q], clk, 0, col[q], k, krank[q])
                    else:
                        rnext[prd_tail[k]] = q
                        merged += 1
                    prd_tail[k] = q
                    prd_cnt[k] += 1
                    outstanding += 1
            if ok:
                stamp[q] = clk
                nxt += 1
                last_progress = clk
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
            progress = False
            if ref_mode > 0 and clk >= next_ins[u]:
                next_ins[u] += ref_interval
                if ref_mode == 2:
                    refq[u, (rh[u] + rcnt[u]) % RQC] = next_rank[u]
                    rcnt[u] += 1
                    next_rank[u] = (next_rank[u] + 1) % R
                else:
                    for r in range(R):
                        refq[u, (rh[u] + rcnt[u]) % RQC] = r
                        rcnt[u] += 1
            first = -1
            first_rw = False
            m = next_ins[u]
            if rcnt[u] > 0:
                r = refq[u, rh[u]]
                if in_ref[u] == 0:
                    in_ref[u] = 1
                    ref_rank[u] = r
                c, b = _refresh_command(u, r, clk, ready, bk, NBK, BSH, RSH, OG, ORK)
                if c >= 0:
                    issue(ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin,
                          u, r, r * NBK + b if b >= 0 else -1, -1, c, clk, R, NBK, BPG, BSH, OG, ORK, tRFC, 0)
                    if log_on:
                        lg = log_cmd(lg, lg_n, clk, c, u, r, b, -1, -1)
                    if c == REFAB:
                        rh[u] = (rh[u] + 1) % RQC
                        rcnt[u] -= 1
                        in_ref[u] = 0
                    first = c
            for attempt in range(2):
                if attempt == 0 and first >= 0:
                    continue
                if attempt == 1 and (first < 0 or not dual):
                    break
                qi, j, c, t = _get_command(u, clk, cq, cqn, rr, in_ref, ref_rank, ready, bk, NQ, NBK, close,
                                           BSH, RSH, OG, ORK)
                if qi < 0:
                    if t < m:
                        m = t
                    break
                is_rw = c == RD or c == WR or c == RDA or c == WRA
                if attempt == 1 and is_rw == first_rw:
                    break
                g = u * NQ + qi
                q = cq[g, j, E_Q]
                r = qi // NBK
                b = qi % NBK
                rw = cq[g, j, E_ROW]
                if cls[q] < 0:
                    cls[q] = 0 if is_rw else (1 if c == ACT else 2)
                issue(ready, bk, rk, act_hist, cmd_counts, lstart, lrows, twin,
                      u, r, qi, rw, c, clk, R, NBK, BPG, BSH, OG, ORK, tRFC, 0)
                if log_on:
                    lg = log_cmd(lg, lg_n, clk, c, u, r, b, rw, cq[g, j, E_COL])
                last_progress = clk
                if is_rw:
                    k = cq[g, j, E_KEY]
                    if cq[g, j, E_W]:
                        pwr[k] = 0
                        done[q] = clk
                        outstanding -= 1
                    else:
                        p = prd_head[k]
                        while p >= 0:
                            done[p] = clk + read_delay
                            outstanding -= 1
                            p = rnext[p]
                        prd_cnt[k] = 0
                        prd_head[k] = -1
                        prd_tail[k] = -1
                    entry_remove(cq, cqn, g, j)
                    cqt[u] -= 1
                if first < 0:
                    first = c
                    first_rw = is_rw
            if first >= 0:
                progress = True
            # ---- ScheduleTransaction: move at most one transaction into its bank queue ----
            wd_before = wd[u]
            if wd[u] == 0:
                if wn[u] >= tq_w or (wn[u] > 8 and cqt[u] == 0):
                    wd[u] = wn[u]
            draining = wd[u] > 0
            buf = wq if draining else rq
            cnt = wn if draining else rn
            for i in range(cnt[u]):
                g = u * NQ + buf[u, i, E_NB]
                if cqn[g] < cq_size:
                    if draining:
                        if prd_cnt[buf[u, i, E_KEY]] > 0:
                            wd[u] = 0
                            break
                        wd[u] -= 1
                    j = cqn[g]
                    for f in range(EW):
                        cq[g, j, f] = buf[u, i, f]
                    cqn[g] = j + 1
                    entry_remove(buf, cnt, u, i)
                    cqt[u] += 1
                    progress = True
                    last_progress = clk
                    break
            if progress or (wd_before > 0 and wd[u] == 0):
                # an aborted drain (R->W dependency) reads the read queue next cycle: not a fixpoint
                wake[u] = clk + 1
            else:
                if rcnt[u] > 0:
                    r = refq[u, rh[u]]
                    for b in range(NBK):
                        nb = r * NBK + b
                        if bk[u, nb, OPEN_ROW] >= 0:
                            t = ready_at(ready, u, nb, PRE, BSH, RSH, OG, ORK)
                            if t > clk and t < m:
                                m = t
                    t = ready[u, ORK + r, REFAB]
                    if t > clk and t < m:
                        m = t
                wake[u] = m
        # ---- stop when only undrainable writes (or a deadlock) remain ----
        if clk - last_progress > limit:
            break
        if nxt >= n:
            idle = True
            for u in range(U):
                if rn[u] > 0 or cqt[u] > 0 or wd[u] > 0 or wn[u] > 8:
                    idle = False
                    break
            if idle:
                break
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
    undrained = 0
    for u in range(U):
        undrained += wn[u]
    return stamp, done, cls, lg, end, unfinished, merged, undrained, fwd
