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
  cycle, then REF issues. ``allbank`` (RANK_LEVEL_SIMULTANEOUS) queues a refresh every tREFI for
  rank 0 only, as DRAMsim3 does (its ``InsertRefresh`` leaves the rank loop after the first rank).
* HBM dual issue: after a command, a second one in the same cycle if exactly one is RD/WR.
* a RD completes its reads at ``clk + RL + burst``; a WR completes its write at issue.

Kernel cycle ``clk`` is the controller clock: a trace request of cycle ``a`` is offered by the CPU
after the memory tick of cycle ``a`` and is accepted with ``added_cycle = a + 1``.

Data layout (speed): queues hold request ids (a request's bank, row, column and type are read from
the per-request arrays); the transaction queues keep each entry's bank queue beside it (the second half of
``tq``), so the search for the oldest transaction whose bank queue has room reads one short array; each
transaction queue sits in a window of twice its size and closes the gap of a moved entry from the shorter
side (taking the front entry moves the head). Each bank command queue keeps a lower bound of the cycle it
can next yield a command (``qlb``; ``INF`` while the queue is empty); the bound holds while the bank's state and the
queue's contents are unchanged (next-allowed cycles only grow, and a PRE or WR held back by another
entry is released only when that entry leaves). A command to a bank sets its queue's bound to the
bank's next-allowed cycle of the commands an entry can need there (ACT while it is closed, else PRE,
RD or WR; only a PRE while no entry hits the open row); an ACT also raises the bounds of the rank's
closed banks' queues to the rank's next ACT cycle. The round-robin visits only the queues whose bound
is due: one branch-free pass per attempt marks them in a bit set per 64 queues, without looking at any
entry or bank state.
A unit that moved no transaction in a tick, or whose read queue holds no other movable read, sleeps
until its earliest bound (or refresh event): no transaction can move before a bank queue shrinks, which
takes a command, or a request arrives, which wakes the unit, unless it is a read queued behind reads that
all wait for room and its own bank queue is full too. A move lets a frontend waiting for room retry the
next cycle. A new entry lowers its queue's bound to the cycle of the command it needs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uintp
from numba.cpython.unsafe.numbers import trailing_zeros

from sim.dram.commands import ACT, PRE, RD, RDA, REFAB, WR, WRA
from sim.dram.kernels.common import (
    BKW,
    COL_HITS,
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
    NC,
    OPEN_ROW,
    issue,
    log_cmd,
    ready_at,
)

#: per-unit scalars ``us[u * NUS + ...]``: transaction-queue sizes, command-queue total, round-robin
#: pointer, writes left to drain, refresh ring head / size / next rank, refresh in progress and its
#: rank, next refresh insertion, wake cycle, and for the read queue and the write buffer the length
#: of a prefix whose bank queues are all full (ScheduleTransaction need not look at it again until a
#: bank queue shrinks), then the heads of the read queue's and the write buffer's windows in ``tq``
(US_RN, US_WN, US_CQT, US_RR, US_WD, US_RH, US_RCNT, US_NEXT_RANK, US_IN_REF, US_REF_RANK, US_NEXT_INS,
 US_WAKE, US_RBLK, US_WBLK, US_RHD, US_WHD) = range(16)
NUS = 16
#: ``pr`` parameters: queue sizes, read delay (cycles), refresh mode (0 none, 1 all ranks, 2 staggered)
#: and interval (cycles), dual issue, close page, log and idle-skip switches
P_TQR, P_TQW, P_CQ, P_RDELAY, P_REFMODE, P_REFINT, P_DUAL, P_CLOSE, P_LOG, P_SKIP = range(10)
RQC = 256
#: DRAMsim3 starts draining writes when its write buffer holds more than this many while every command queue
#: is empty (and never drains fewer: those are the undrained writes of a run's end)
DRAIN_MIN = 8
#: bank queues: no bound yet
_STALE = -INF


def workspace(n: int, n_keys: int, U: int, NQ: int, tq_r: int, tq_w: int, cq: int) -> tuple[np.ndarray, ...]:
    """Kernel work arrays (allocated here: the kernel allocates nothing): ``tq`` transaction queues
    (per unit a window of twice the read queue's size, then one of twice the write buffer's; then the same
    layout again holding each entry's bank queue),
    ``cq`` bank command queues, per bank queue ``qsz`` its size, ``qlb`` a lower bound of the cycle it can
    next yield a command (cycles; ``INF`` while it is empty) and ``qhit`` how many of its entries hit the
    bank's open row, ``us`` per-unit scalars, ``refq`` refresh rings, ``keys`` per address (pending-read
    count, head, tail, pending write), ``rnext`` merged-read chains."""
    keys = np.zeros((max(1, n_keys), 4), dtype=np.int64)
    keys[:, 1:3] = -1
    return (np.zeros(4 * U * (tq_r + tq_w), dtype=np.int64), np.zeros(U * NQ * cq, dtype=np.int64),
            np.zeros(U * NQ, dtype=np.int64), np.full(U * NQ, INF, dtype=np.int64), np.zeros(U * NQ, dtype=np.int64),
            np.zeros(U * NUS, dtype=np.int64), np.zeros(U * RQC, dtype=np.int64), keys.ravel(),
            np.full(max(1, n), -1, dtype=np.int64))


@njit(cache=True, inline='always')
def _bank_bound(rd, bk, ubk, ub, nb, hits, BSH, RSH, OG, ORK):
    """A lower bound (cycles) of when bank ``nb``'s queue can next yield a command, from the bank and the
    number of its entries that hit the open row (``hits``): an ACT while it is closed, a PRE when no entry
    hits, else a PRE, RD or WR (held-back commands only come later)."""
    if bk[(ubk + nb) * BKW + OPEN_ROW] < 0:
        return ready_at(rd, ub, nb, ACT, BSH, RSH, OG, ORK)
    t_pre = ready_at(rd, ub, nb, PRE, BSH, RSH, OG, ORK)
    if hits == 0:
        return t_pre
    return min(t_pre, ready_at(rd, ub, nb, RD, BSH, RSH, OG, ORK), ready_at(rd, ub, nb, WR, BSH, RSH, OG, ORK))


@njit(cache=True, inline='always')
def _push(tq, TQB, base, us, hi, cnt, size, q, nb):
    """Append request ``q`` of bank queue ``nb`` to the transaction queue whose window of ``2 size`` slots starts
    at ``base`` and holds ``cnt < size`` entries from its head ``us[hi]`` (both halves of ``tq``); when the
    window's end is reached the entries first move to its start."""
    h = us[hi]
    if h + cnt == 2 * size:
        for k in range(cnt):
            tq[base + k] = tq[base + h + k]
            tq[TQB + base + k] = tq[TQB + base + h + k]
        h = 0
        us[hi] = 0
    tq[base + h + cnt] = q
    tq[TQB + base + h + cnt] = nb


# fields of ``keys[k * 4 + ...]``
K_CNT, K_HEAD, K_TAIL, K_PWR = 0, 1, 2, 3


@njit(cache=True)
def run(arr, kunit, knb, row, col, isw, akey, stamp, done, cls, tq, cq, qsz, qlb, qhit, us, refq, keys,
        rnext, dev, gm, rd, bk, rk, pr, lg, lg_n):
    """Simulate the trace, filling ``stamp`` / ``done`` / ``cls``; returns
    ``(merged, writes_undrained, forwarded)``."""
    n = arr.shape[0]
    U = gm[G_U]
    R = gm[G_R]
    NBK = gm[G_NBK]
    NQ = gm[G_NBT]
    ROWS = gm[G_ROWS]
    BSH = gm[G_BSH]
    RSH = gm[G_RSH]
    OG = gm[G_OG]
    ORK = gm[G_ORK]
    tq_r = pr[P_TQR]
    tq_w = pr[P_TQW]
    CQ = pr[P_CQ]
    read_delay = pr[P_RDELAY]
    ref_mode = pr[P_REFMODE]
    ref_interval = pr[P_REFINT]
    dual = pr[P_DUAL] != 0
    close = pr[P_CLOSE] != 0
    log_on = pr[P_LOG] != 0
    skip = pr[P_SKIP] != 0
    # each queue of ``n`` entries lives in a window of ``2 n`` slots from its head (us[US_RHD] / us[US_WHD]);
    # the second half of ``tq`` holds the bank queue of each queued transaction (scans read it contiguously)
    TQ2 = 2 * (tq_r + tq_w)
    TQB = U * TQ2
    NW = (NQ + 63) >> 6
    none = np.int64(-1)
    for u in range(U):
        us[u * NUS + US_NEXT_INS] = ref_interval if ref_mode > 0 else INF
        us[u * NUS + US_WAKE] = us[u * NUS + US_NEXT_INS]
    merged = 0
    fwd = 0
    nxt = 0
    outstanding = 0
    last_progress = np.int64(0)
    # the last completion cycle so far: controllers tick up to it (refreshes go on while the last
    # reads' data is in flight), as DRAMsim3 does until the last callback
    last_done = np.int64(-1)
    limit = np.int64(1000000) + 8 * ref_interval * R
    clk = np.int64(0)
    while True:
        lg_n[1] += 1
        # ---- CPU: offers the next request after the memory tick of the previous cycle ----
        blocked = -1
        if nxt < n and arr[nxt] + 1 <= clk:
            q = nxt
            u = kunit[q]
            v = u * NUS
            k = akey[q] * 4
            ok = False
            wake = True
            if isw[q]:
                if us[v + US_WN] < tq_w:
                    ok = True
                    if keys[k + K_PWR] == 0:
                        keys[k + K_PWR] = 1
                        wn = us[v + US_WN]
                        _push(tq, TQB, u * TQ2 + 2 * tq_r, us, v + US_WHD, wn, tq_w, q, knb[q])
                        us[v + US_WN] = wn + 1
                        outstanding += 1
                    else:
                        merged += 1
                        done[q] = clk + 1
                        last_done = max(last_done, clk + 1)
            elif us[v + US_RN] < tq_r:
                ok = True
                if keys[k + K_PWR]:
                    fwd += 1
                    done[q] = clk + 1
                    last_done = max(last_done, clk + 1)
                else:
                    if keys[k + K_CNT] == 0:
                        keys[k + K_HEAD] = q
                        rn = us[v + US_RN]
                        _push(tq, TQB, u * TQ2, us, v + US_RHD, rn, tq_r, q, knb[q])
                        us[v + US_RN] = rn + 1
                        if skip and us[v + US_WD] == 0 and us[v + US_RBLK] == rn and qsz[u * NQ + knb[q]] >= CQ:
                            # in read mode behind reads that all wait for room in their bank queues, to a full one
                            # itself: it changes nothing the unit can do before a bank queue shrinks
                            us[v + US_RBLK] = rn + 1
                            wake = False
                    else:
                        rnext[keys[k + K_TAIL]] = q
                        merged += 1
                    keys[k + K_TAIL] = q
                    keys[k + K_CNT] += 1
                    outstanding += 1
            if ok:
                stamp[q] = clk
                nxt += 1
                last_progress = clk
                if wake:
                    us[v + US_WAKE] = min(us[v + US_WAKE], clk)
            else:
                blocked = u
        if nxt >= n and outstanding == 0 and clk > last_done:
            break
        # ---- controller ticks ----
        nc = INF
        room = False
        for u in range(U):
            v = u * NUS
            if us[v + US_WAKE] <= clk:
                lg_n[2] += 1
                ub = u * ROWS
                ubk = u * NQ
                moved = False
                if ref_mode > 0 and clk >= us[v + US_NEXT_INS]:
                    # InsertRefresh: staggered, the next rank in turn; simultaneous, the first rank that is
                    # not self-refreshing (none is), so rank 0 alone (DRAMsim3 leaves its loop after one)
                    us[v + US_NEXT_INS] += ref_interval
                    r = us[v + US_NEXT_RANK] if ref_mode == 2 else 0
                    refq[u * RQC + (us[v + US_RH] + us[v + US_RCNT]) % RQC] = r
                    us[v + US_RCNT] += 1
                    if ref_mode == 2:
                        us[v + US_NEXT_RANK] = (r + 1) % R
                first = -1
                first_rw = False
                m = us[v + US_NEXT_INS]
                if us[v + US_RCNT] > 0:
                    r = refq[u * RQC + us[v + US_RH]]
                    if us[v + US_IN_REF] == 0:
                        us[v + US_IN_REF] = 1
                        us[v + US_REF_RANK] = r
                    # FinishRefresh: PRE the first ready open bank; REF once all are closed and REF is ready
                    c = -1
                    b = -1
                    any_open = False
                    for b2 in range(NBK):
                        nb = r * NBK + b2
                        if bk[(ubk + nb) * BKW + OPEN_ROW] >= 0:
                            any_open = True
                            if ready_at(rd, ub, nb, PRE, BSH, RSH, OG, ORK) <= clk:
                                c = PRE
                                b = b2
                                break
                    if not any_open and rd[(ub + ORK + r) * NC + REFAB] <= clk:
                        c = REFAB
                    if c >= 0:
                        nb = r * NBK + b if b >= 0 else none
                        issue(dev, u, r, nb, none, c, clk)
                        if b >= 0:
                            qhit[ubk + nb] = 0
                            if qsz[ubk + nb] > 0:
                                qlb[ubk + nb] = _STALE  # its bank closed: the queue's bound is void
                        if log_on:
                            log_cmd(lg, lg_n, clk, c, u, r, b, none, none)
                        if c == REFAB:
                            us[v + US_RH] = (us[v + US_RH] + 1) % RQC
                            us[v + US_RCNT] -= 1
                            us[v + US_IN_REF] = 0
                        first = c
                for attempt in range(2):
                    if attempt == 0 and first >= 0:
                        continue
                    if attempt == 1 and (first < 0 or not dual):
                        break
                    # ---- GetCommandToIssue: the bank queues whose bound is due, in round-robin order;
                    # in a queue the first entry whose command is ready and allowed ----
                    qi = -1
                    j = -1
                    c = -1
                    rr = us[v + US_RR]
                    # (a rank in refresh: its queues are masked out; -1 while none is)
                    ref_rank = us[v + US_REF_RANK] if us[v + US_IN_REF] != 0 else none
                    # the round-robin order starts at queue s: word s >> 6 from bit s & 63, the following words,
                    # then words 0 .. s >> 6 again, the last one below bit s & 63
                    s = rr + 1 if rr + 1 < NQ else 0
                    ws = s >> 6
                    raw0 = np.int64(0)
                    for k in range(NW + 1):
                        if c >= 0:
                            break
                        wd = ws + k if ws + k < NW else ws + k - NW
                        w0 = wd << 6
                        if k == NW:
                            bits = raw0 & ((np.int64(1) << np.int64(s & 63)) - 1)
                        else:
                            # branch-free: a bit for every queue of this word whose bound is due (empty queues
                            # hold INF), less the queues of a rank in refresh
                            bits = np.int64(0)
                            for b2 in range(w0, min(NQ, w0 + 64)):
                                bits |= np.int64(qlb[uintp(ubk + b2)] <= clk) << np.int64(b2 - w0)
                            if ref_rank >= 0:
                                lo = max((ref_rank << RSH) - w0, 0)
                                hi = min(((ref_rank + 1) << RSH) - w0, 64)
                                if lo < hi:
                                    ones = np.int64(-1) if hi - lo >= 64 else (np.int64(1) << np.int64(hi - lo)) - 1
                                    bits &= ~(ones << np.int64(lo))
                            if k == 0:
                                raw0 = bits
                                bits &= np.int64(-1) << np.int64(s & 63)
                        while bits != 0 and c < 0:
                            b2 = w0 + trailing_zeros(bits)
                            bits &= bits - 1
                            g = ubk + b2
                            nq = qsz[g]
                            o = bk[(ubk + b2) * BKW + OPEN_ROW]
                            qn = INF
                            if o < 0:
                                # every entry needs the same ACT: the first one gets it
                                t = ready_at(rd, ub, b2, ACT, BSH, RSH, OG, ORK)
                                if t <= clk:
                                    qi, j, c = b2, 0, ACT
                                qn = t
                            else:
                                t_pre = ready_at(rd, ub, b2, PRE, BSH, RSH, OG, ORK)
                                nh = qhit[g]
                                if nh == 0:
                                    # every entry misses the open row: the first one may precharge it
                                    if t_pre <= clk:
                                        qi, j, c = b2, 0, PRE
                                    qn = t_pre
                                else:
                                    t_rd = ready_at(rd, ub, b2, RD, BSH, RSH, OG, ORK)
                                    t_wr = ready_at(rd, ub, b2, WR, BSH, RSH, OG, ORK)
                                    e0 = g * CQ
                                    seen = 0
                                    for j2 in range(nq):
                                        q = cq[e0 + j2]
                                        rw = row[q]
                                        if rw != o:
                                            if t_pre > clk:
                                                qn = min(qn, t_pre)
                                                continue
                                            # a PRE (first entry only) needs the row to have served 4 column
                                            # commands: nh entries hit it
                                            if j2 != 0 or bk[(ubk + b2) * BKW + COL_HITS] < 4:
                                                continue
                                            qi, j, c = b2, j2, PRE
                                            break
                                        seen += 1
                                        iw = isw[q]
                                        t = t_wr if iw else t_rd
                                        ok = t <= clk
                                        if not ok:
                                            qn = min(qn, t)
                                        elif iw:
                                            # a WR waits for an older RD of the same address
                                            for j3 in range(j2):
                                                q2 = cq[e0 + j3]
                                                if isw[q2] == 0 and row[q2] == rw and col[q2] == col[q]:
                                                    ok = False
                                                    break
                                        if ok:
                                            qi, j, c = b2, j2, ((WRA if close else WR) if iw else
                                                                (RDA if close else RD))
                                            break
                                        if seen == nh:
                                            # only misses follow: each bounded by the PRE (when it is late)
                                            if j2 + 1 < nq and t_pre > clk:
                                                qn = min(qn, t_pre)
                                            break
                            if c < 0:
                                qlb[g] = qn
                    if c < 0:
                        break
                    us[v + US_RR] = qi
                    is_rw = c == RD or c == WR or c == RDA or c == WRA
                    if attempt == 1 and is_rw == first_rw:
                        break
                    g = u * NQ + qi
                    e = g * CQ + j
                    q = cq[e]
                    r = qi >> RSH
                    rw = row[q]
                    if cls[q] < 0:
                        cls[q] = 0 if is_rw else (1 if c == ACT else 2)
                    issue(dev, u, r, qi, rw, c, clk)
                    if log_on:
                        log_cmd(lg, lg_n, clk, c, u, r, qi - (r << RSH), rw, col[q])
                    last_progress = clk
                    if is_rw:
                        k = akey[q] * 4
                        if isw[q]:
                            keys[k + K_PWR] = 0
                            done[q] = clk
                            last_done = max(last_done, clk)
                            outstanding -= 1
                        else:
                            p = keys[k + K_HEAD]
                            while p >= 0:
                                done[p] = clk + read_delay
                                last_done = max(last_done, clk + read_delay)
                                outstanding -= 1
                                p = rnext[p]
                            keys[k + K_CNT] = 0
                            keys[k + K_HEAD] = -1
                            keys[k + K_TAIL] = -1
                        nq = qsz[g]
                        for i in range(e, g * CQ + nq - 1):
                            cq[i] = cq[i + 1]
                        qsz[g] = nq - 1
                        qhit[g] = qhit[g] - 1 if c == RD or c == WR else 0
                        qlb[g] = _bank_bound(rd, bk, ubk, ub, qi, qhit[g], BSH, RSH, OG, ORK) if nq > 1 else INF
                        us[v + US_CQT] -= 1
                        us[v + US_RBLK] = 0           # a bank queue has room again
                        us[v + US_WBLK] = 0
                    else:
                        # ACT / PRE: the bank changed; its queue's bound is the bank's next-allowed cycles
                        nh = 0
                        if c == ACT:
                            for i in range(g * CQ, g * CQ + qsz[g]):
                                nh += row[cq[i]] == rw
                        qhit[g] = nh
                        qlb[g] = _bank_bound(rd, bk, ubk, ub, qi, nh, BSH, RSH, OG, ORK)
                        if c == ACT:
                            # the queues of the rank's closed banks need an ACT too: none before the rank allows
                            la = rd[(ub + ORK + r) * NC + ACT]
                            for b3 in range(r << RSH, (r + 1) << RSH):
                                x = uintp(ubk + b3)
                                up = (qsz[x] > 0) & (bk[x * BKW + OPEN_ROW] < 0)
                                qlb[x] = max(qlb[x], la) if up else qlb[x]
                    if first < 0:
                        first = c
                        first_rw = is_rw
                # ---- ScheduleTransaction: move at most one transaction into its bank queue ----
                wd_before = us[v + US_WD]
                wn = us[v + US_WN]
                if us[v + US_WD] == 0:
                    if wn >= tq_w or (wn > DRAIN_MIN and us[v + US_CQT] == 0):
                        us[v + US_WD] = wn
                draining = us[v + US_WD] > 0
                hd = US_WHD if draining else US_RHD
                t0 = u * TQ2 + (2 * tq_r if draining else 0) + us[v + hd]
                cnt = wn if draining else us[v + US_RN]
                blk = US_WBLK if draining else US_RBLK
                # the first transaction past the blocked prefix whose bank queue has room
                i = us[v + blk]
                while i < cnt and qsz[uintp(ubk + tq[uintp(TQB + t0 + i)])] >= CQ:
                    i += 1
                us[v + blk] = i
                if i < cnt:
                    q = tq[t0 + i]
                    g = ubk + knb[q]
                    nq = qsz[g]
                    abort = False
                    if draining:
                        if keys[akey[q] * 4 + K_CNT] > 0:
                            us[v + US_WD] = 0
                            abort = True
                        else:
                            us[v + US_WD] -= 1
                    if not abort:
                        cq[g * CQ + nq] = q
                        qsz[g] = nq + 1
                        # the queue can now yield earlier only through the new entry: its command's cycle
                        o = bk[g * BKW + OPEN_ROW]
                        c = ACT if o < 0 else (RD + isw[q] if row[q] == o else PRE)
                        qlb[g] = min(qlb[g], ready_at(rd, ub, knb[q], c, BSH, RSH, OG, ORK))
                        qhit[g] += o == row[q]
                        # close the gap from the shorter side (the window's head moves when it is the front)
                        if i < cnt - 1 - i:
                            for i2 in range(t0 + i, t0, -1):
                                tq[i2] = tq[i2 - 1]
                                tq[TQB + i2] = tq[TQB + i2 - 1]
                            us[v + hd] += 1
                        else:
                            for i2 in range(t0 + i, t0 + cnt - 1):
                                tq[i2] = tq[i2 + 1]
                                tq[TQB + i2] = tq[TQB + i2 + 1]
                        us[v + (US_WN if draining else US_RN)] = cnt - 1
                        us[v + US_CQT] += 1
                        moved = True
                        last_progress = clk
                if moved and blocked == u:
                    room = True                       # the frontend waiting for room here retries next cycle
                if moved and wd_before == 0 and us[v + US_WD] == 0:
                    # read mode: another read moves next cycle only if one's bank queue has room (and the write
                    # buffer does not start a drain); otherwise the read queue waits for a bank queue to shrink,
                    # as its blocked prefix then records
                    wn = us[v + US_WN]
                    later = wn >= tq_w or (wn > DRAIN_MIN and us[v + US_CQT] == 0)
                    cnt = us[v + US_RN]
                    i = us[v + US_RBLK]
                    t0 = u * TQ2 + us[v + US_RHD]
                    while i < cnt and not later:
                        later = qsz[uintp(ubk + tq[uintp(TQB + t0 + i)])] < CQ
                        i += 1
                    if not later:
                        us[v + US_RBLK] = cnt
                        moved = False
                if moved or (wd_before > 0 and us[v + US_WD] == 0):
                    # another transaction may move next cycle; an aborted drain (R->W dependency) reads the read
                    # queue next cycle: not a fixpoint
                    us[v + US_WAKE] = clk + 1
                else:
                    # no transaction can move before a bank queue shrinks (a column command) or a request
                    # arrives (which wakes the unit), so the next event is a command: the earliest bound of
                    # the queues and of the refresh (after a command this tick, a bound may be next cycle)
                    if us[v + US_RCNT] > 0:
                        r = refq[u * RQC + us[v + US_RH]]
                        any_open = False
                        for b in range(NBK):
                            nb = r * NBK + b
                            if bk[(ubk + nb) * BKW + OPEN_ROW] >= 0:
                                any_open = True
                                m = min(m, max(clk + 1, ready_at(rd, ub, nb, PRE, BSH, RSH, OG, ORK)))
                        if not any_open:
                            m = min(m, max(clk + 1, rd[(ub + ORK + r) * NC + REFAB]))
                    # the earliest bound of the queues the round-robin may visit (each is exact or a bound)
                    ref_rank = us[v + US_REF_RANK] if us[v + US_IN_REF] != 0 else none
                    for b2 in range(NQ):
                        m = min(m, qlb[uintp(ubk + b2)] if (b2 >> RSH) != ref_rank else INF)
                    us[v + US_WAKE] = m
            if not skip:
                us[v + US_WAKE] = min(us[v + US_WAKE], clk + 1)
            nc = min(nc, us[v + US_WAKE])
        # ---- stop when only undrainable writes (or a deadlock) remain ----
        if clk - last_progress > limit:
            break
        if nxt >= n:
            idle = True
            for u in range(U):
                v = u * NUS
                if us[v + US_RN] > 0 or us[v + US_CQT] > 0 or us[v + US_WD] > 0 or us[v + US_WN] > DRAIN_MIN:
                    idle = False
                    break
            if idle and clk >= last_done:
                break
        # ---- next cycle ----
        if nxt < n:
            if blocked >= 0:
                wb = us[blocked * NUS + US_WAKE]
                f = clk + 1 if room or wb <= clk + 1 else wb + 1
            else:
                f = arr[nxt] + 1
            nc = min(nc, f)
        if nxt >= n and clk < last_done:
            nc = min(nc, last_done)
        if nc >= INF:
            break
        # a jump lands at the no-progress limit at the latest, where ticking every cycle stops too
        nc = min(nc, last_progress + limit + 1)
        clk = max(nc, clk + 1)
    undrained = 0
    for u in range(U):
        undrained += us[u * NUS + US_WN]
    return merged, undrained, fwd
