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

Data layout (speed): the queues are runs of slots in age order holding a request id, its bank and
a lower bound of the cycle its next command becomes legal. The command a request needs depends only
on its bank's state and next-allowed cycles only grow, so the bound holds until the bank changes
(ACT, PRE, PREA, RDA, WRA), which voids the bounds of that bank's slots; a slot whose bound lies in
the future is skipped without looking at the timing state (a branch-free compare per slot); the
scan stops at the oldest ready row hit, and the earliest ready cycle (the wake-up) is found by
refining the smallest bound until it is exact. A row owner's column-command cycle is computed at its
ACT and kept as a bound, with the smallest one per unit (``US_OMIN``, raised after an owner's
command to its rank's next-allowed column cycle): the owner scan is skipped while it lies ahead,
and the owner's queue slot is not visited by the queue scan. A request whose PRE waits for its bank's
row owner gets the bound ``INF`` (not visited, no wake-up) until the owner's column command, which
sets it to the bank's PRE cycle; a close of the bank voids it like any other.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uintp
from numba.cpython.unsafe.numbers import trailing_zeros

from sim.dram.commands import ACT, PRE, PREA, RD, RDA, REFAB, REFPB, WR, WRA
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
    N_OPEN,
    NC,
    OPEN_ROW,
    RKW,
    earliest_ready,
    issue,
    log_cmd,
    ready_at,
)

HIT_CAP = 16
#: per-unit scalars ``us[u * NUS + ...]``: queue sizes, write mode, owned banks, wake cycle, a lower bound
#: of every owner's column-command cycle (``B_OWNER_LB``): while it lies in the future no owner can issue
US_RN, US_WN, US_WMODE, US_ON, US_WAKE, US_OMIN = range(6)
NUS = 6
#: ``pr`` parameters: queue sizes, write-mode watermarks (writes), scheduler (0 FR-FCFS, 1 FCFS), page
#: policy (0 open, 1 closed, 2 timeout), page timeout and read latency (cycles), refresh mode (0 none,
#: 1 all-bank, 2 staggered, 3 per-bank) and interval (cycles), dual issue, log and idle-skip switches
P_QR, P_QW, P_HI, P_LO, P_SCHED, P_POLICY, P_TIMEOUT, P_RDLAT, P_REFMODE, P_REFINT, P_DUAL, P_LOG, P_SKIP = range(13)
#: per-bank work arrays ``bw[f * U * NBT + u * NBT + nb]``: owner request (-1: none), whether the owner
#: is a write, its acceptance cycle, owned-bank list, position in it, queued requests, last column cycle,
#: a lower bound of the cycle the owner's column command becomes legal (exact when computed; the owner's
#: command is fixed while it owns the row and next-allowed cycles only grow, so it stays a bound)
B_OWNER, B_OWNER_W, B_OWNER_ST, B_OLIST, B_OPOS, B_QCOUNT, B_LASTCOL, B_OWNER_LB = range(8)
#: per-rank refresh arrays ``rw[f * U * R + u * R + r]``: next due cycle, all-bank refresh pending,
#: per-bank refresh pending (bank, -1: none), next bank to refresh
R_DUE, R_PEND, R_PB, R_PBNEXT = range(4)


def workspace(n_keys: int, U: int, R: int, NBT: int, qr: int, qw: int) -> tuple[np.ndarray, ...]:
    """Kernel work arrays ``(sid, snb, slb, us, bw, rw, wkey)`` (allocated here: the kernel allocates
    nothing). The three slot arrays hold ``qr + qw`` slots per unit."""
    qs = U * (qr + qw)
    bw = np.zeros((8, U * NBT), dtype=np.int64)
    bw[B_OWNER] = -1
    rw = np.zeros((4, U * R), dtype=np.int64)
    rw[R_DUE] = INF
    rw[R_PB] = -1
    return (np.zeros(qs, dtype=np.int64), np.zeros(qs, dtype=np.int64), np.zeros(qs, dtype=np.int64),
            np.zeros(U * NUS, dtype=np.int64), bw.ravel(), rw.ravel(),
            np.zeros(max(1, n_keys), dtype=np.int64))


@njit(cache=True, inline='always')
def _void(slb, snb, lo, hi, key, sh):
    """Void (set to ``-INF``) the bounds of the slots ``lo..hi-1`` whose bank ``>> sh`` equals ``key``."""
    for j in range(lo, hi):
        x = uintp(j)
        slb[x] = -INF if (snb[x] >> sh) == key else slb[x]


@njit(cache=True, inline='always')
def _unblock(slb, snb, lo, hi, nb, t):
    """Set to ``t`` the bounds of the slots ``lo..hi-1`` to bank ``nb`` that wait for its row owner (``INF``)."""
    for j in range(lo, hi):
        x = uintp(j)
        slb[x] = t if (snb[x] == nb) & (slb[x] >= INF) else slb[x]


@njit(cache=True)
def run(arr, kunit, knb, row, col, isw, akey, stamp, done, cls, sid, snb, slb, us, bw, rw, wkey,
        dev, gm, rd, bk, rk, pr, lg, lg_n):
    """Simulate the trace, filling ``stamp`` / ``done`` / ``cls``; returns ``(merged, forwarded)``."""
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
    qr = pr[P_QR]
    qw = pr[P_QW]
    hi = pr[P_HI]
    lo = pr[P_LO]
    sched = pr[P_SCHED]
    policy = pr[P_POLICY]
    timeout = pr[P_TIMEOUT]
    rd_lat = pr[P_RDLAT]
    ref_mode = pr[P_REFMODE]
    interval = pr[P_REFINT]
    dual = pr[P_DUAL] != 0
    log_on = pr[P_LOG] != 0
    skip = pr[P_SKIP] != 0
    QW = qr + qw
    UNB = U * NBT
    UR = U * R
    none = np.int64(-1)
    for u in range(U):
        us[u * NUS + US_WAKE] = INF
        for r in range(R):
            i = u * R + r
            if ref_mode == 1 or ref_mode == 3:
                rw[R_DUE * UR + i] = interval
            elif ref_mode == 2:
                rw[R_DUE * UR + i] = (r + 1) * interval
            us[u * NUS + US_WAKE] = min(us[u * NUS + US_WAKE], rw[R_DUE * UR + i])
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
            v = u * NUS
            k = akey[q]
            ok = False
            j = -1
            if isw[q]:
                if wkey[k] > 0:
                    merged += 1
                    done[q] = clk
                    ok = True
                elif us[v + US_WN] < qw:
                    j = u * QW + qr + us[v + US_WN]
                    us[v + US_WN] += 1
                    wkey[k] += 1
            elif wkey[k] > 0:
                fwd += 1
                done[q] = clk + 1
                ok = True
            elif us[v + US_RN] < qr:
                j = u * QW + us[v + US_RN]
                us[v + US_RN] += 1
            if j >= 0:
                sid[j] = q
                snb[j] = knb[q]
                slb[j] = -INF
                outstanding += 1
                bw[B_QCOUNT * UNB + u * NBT + knb[q]] += 1
                ok = True
            if ok:
                stamp[q] = clk
                nxt += 1
                w = clk
                if j >= 0 and skip and isw[q] == 0 and us[v + US_WMODE] == 0 and us[v + US_WN] == 0:
                    # a read joining read mode with no write queued changes no mode, and before the unit's
                    # wake-up only its own command could issue: wake no earlier than that command can
                    nb = knb[q]
                    o = bk[(u * NBT + nb) * BKW + OPEN_ROW]
                    c = RD if o == row[q] else (PRE if o >= 0 else ACT)
                    w = max(clk, ready_at(rd, u * ROWS, nb, c, BSH, RSH, OG, ORK))
                us[v + US_WAKE] = min(us[v + US_WAKE], w)
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
                # refresh bookkeeping
                refblk = False
                for r in range(R):
                    i = u * R + r
                    if ref_mode != 0 and clk >= rw[R_DUE * UR + i]:
                        if ref_mode == 3:
                            if rw[R_PB * UR + i] < 0:
                                rw[R_PB * UR + i] = rw[R_PBNEXT * UR + i]
                                rw[R_PBNEXT * UR + i] = (rw[R_PBNEXT * UR + i] + 1) % NBK
                                rw[R_DUE * UR + i] += interval
                        else:
                            rw[R_PEND * UR + i] = 1
                            rw[R_DUE * UR + i] += interval * R if ref_mode == 2 else interval
                    if rw[R_PEND * UR + i] != 0 or rw[R_PB * UR + i] >= 0:
                        refblk = True
                # write mode
                wn = us[v + US_WN]
                rn = us[v + US_RN]
                if us[v + US_WMODE] == 0:
                    if wn >= hi or (rn == 0 and wn > 0):
                        us[v + US_WMODE] = 1
                elif wn == 0 or (wn <= lo and rn > 0):
                    us[v + US_WMODE] = 0
                wmode = us[v + US_WMODE]
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
                    o_fix = False                       # an owner issues: US_OMIN raised after its command
                    o_min = INF
                    o_rd = False
                    o_wr = False
                    # 1. refresh commands (row class)
                    if want != 2:
                        for r in range(R):
                            i = u * R + r
                            if rw[R_PEND * UR + i]:
                                c = PREA if rk[(u * R + r) * RKW + N_OPEN] > 0 else REFAB
                                if rd[(ub + ORK + r) * NC + c] <= clk:
                                    cmd = c
                                    tr = r
                                    break
                            elif rw[R_PB * UR + i] >= 0:
                                nb = r * NBK + rw[R_PB * UR + i]
                                c = PRE if bk[(ubk + nb) * BKW + OPEN_ROW] >= 0 else REFPB
                                if ready_at(rd, ub, nb, c, BSH, RSH, OG, ORK) <= clk:
                                    cmd = c
                                    tr = r
                                    tbk = rw[R_PB * UR + i]
                                    break
                    # 2. requests whose row was activated for them, whichever queue they are in
                    src_w = wmode
                    on = us[v + US_ON]
                    if cmd < 0 and sched == 0 and want != 1 and on > 0 and not refblk and us[v + US_OMIN] > clk:
                        m = min(m, us[v + US_OMIN])     # no owner due: skip the scan
                    elif cmd < 0 and sched == 0 and want != 1 and on > 0:
                        best_st = INF
                        best_nb = -1
                        omin = INF                      # smallest bound of the owners that are not ready
                        n_ready = 0
                        n_w = 0
                        for k in range(on if not refblk else 0):
                            # no refresh block: every owner's cycle made exact, branch-free (a later but still
                            # exact wake-up); the oldest ready owner wins
                            nb = bw[uintp(B_OLIST * UNB + ubk + k)]
                            ow = bw[uintp(B_OWNER_W * UNB + ubk + nb)]
                            t = ready_at(rd, ub, nb, RD + ow, BSH, RSH, OG, ORK)
                            bw[uintp(B_OWNER_LB * UNB + ubk + nb)] = t
                            late = t > clk
                            n_ready += not late
                            n_w += ow != 0
                            tl = t if late else INF
                            m = min(m, tl)
                            omin = min(omin, tl)
                            st = INF if late else bw[uintp(B_OWNER_ST * UNB + ubk + nb)]
                            if st < best_st:
                                best_st = st
                                best_nb = nb
                        for k in range(on if refblk else 0):
                            nb = bw[B_OLIST * UNB + ubk + k]
                            r = nb >> RSH
                            lb = bw[B_OWNER_LB * UNB + ubk + nb]
                            if refblk and (rw[R_PEND * UR + u * R + r] != 0
                                           or rw[R_PB * UR + u * R + r] == nb - r * NBK):
                                omin = min(omin, lb)
                                continue
                            if lb > clk:
                                m = min(m, lb)    # still a bound: a wake-up at most this early
                                omin = min(omin, lb)
                                continue
                            ow = bw[B_OWNER_W * UNB + ubk + nb]
                            t = ready_at(rd, ub, nb, WR if ow else RD, BSH, RSH, OG, ORK)
                            if t > clk:
                                bw[B_OWNER_LB * UNB + ubk + nb] = t
                                m = min(m, t)
                                omin = min(omin, t)
                            else:
                                n_ready += 1
                                if bw[B_OWNER_ST * UNB + ubk + nb] < best_st:
                                    best_st = bw[B_OWNER_ST * UNB + ubk + nb]
                                    best_nb = nb
                        # the oldest ready owner issues now and leaves; any other ready one forces a scan next tick
                        # unless the command raised every rank's next-allowed column cycle past it (below)
                        us[v + US_OMIN] = omin if n_ready <= 1 else -INF
                        o_fix = best_nb >= 0
                        o_min = us[v + US_OMIN]
                        o_rd = refblk or n_w < on       # which column commands the owners need (n_w: writes,
                        o_wr = refblk or n_w > 0        # counted where no refresh blocks)
                        if best_nb >= 0:
                            src_w = bw[B_OWNER_W * UNB + ubk + best_nb]
                            lo_q = base + (qr if src_w else 0)
                            oq = bw[B_OWNER * UNB + ubk + best_nb]
                            for j in range(lo_q, lo_q + (us[v + US_WN] if src_w else us[v + US_RN])):
                                if sid[j] == oq:
                                    pos = j
                                    break
                            cmd = WR if src_w else RD
                            tr = best_nb >> RSH
                            tbk = best_nb - tr * NBK
                    # 3. the oldest ready request of the active queue: a row hit first
                    if cmd < 0:
                        alo = base + (qr if wmode else 0)
                        acnt = us[v + (US_WN if wmode else US_RN)]
                        lim = acnt if sched == 0 else min(acnt, 1)
                        col_ok = want != 1
                        row_ok = want != 2
                        cand = -1
                        cand_c = -1
                        # branch-free pass over up to 64 slots: a bit for every slot whose bound is due (a
                        # change of its bank voided it: only those can be ready); then those bits in age order
                        stop = False
                        for j0 in range(alo, alo + lim, 64):
                            if stop:
                                break
                            j1 = min(j0 + 64, alo + lim)
                            bits = np.int64(0)
                            for j in range(j0, j1):
                                x = uintp(j)
                                bits |= np.int64(slb[x] <= clk) << np.int64(j - j0)
                            while bits != 0:
                                j = j0 + trailing_zeros(bits)
                                bits &= bits - 1
                                x = uintp(j)
                                nb = snb[x]
                                if refblk:
                                    r = nb >> RSH
                                    if rw[R_PEND * UR + u * R + r] != 0 or rw[R_PB * UR + u * R + r] == nb - r * NBK:
                                        continue
                                q = sid[x]
                                o = bk[(ubk + nb) * BKW + OPEN_ROW]
                                hit = o == row[q]
                                c = RD + isw[q] if hit else (PRE if o >= 0 else ACT)
                                t = ready_at(rd, ub, nb, c, BSH, RSH, OG, ORK)
                                if c == PRE and sched == 0 and bw[B_OWNER * UNB + ubk + nb] >= 0:
                                    t = INF
                                slb[x] = t
                                if t > clk:
                                    continue
                                if hit:
                                    if col_ok:
                                        pos = j
                                        cmd = c
                                        stop = True
                                        break
                                elif row_ok and cand < 0:
                                    ok = sched == 1 or o < 0
                                    if not ok and bw[B_OWNER * UNB + ubk + nb] < 0:
                                        # a PRE must not close a row with queued hits (unless it served HIT_CAP);
                                        # with this request the only one queued for the bank, there is none
                                        ok = (bk[(ubk + nb) * BKW + COL_HITS] >= HIT_CAP
                                              or bw[B_QCOUNT * UNB + ubk + nb] == 1)
                                        if not ok:
                                            ok = True
                                            for j2 in range(alo, alo + lim):
                                                if snb[j2] == nb and row[sid[j2]] == o:
                                                    ok = False
                                                    break
                                    if ok:
                                        cand = j
                                        cand_c = c
                                        if not col_ok:
                                            stop = True
                                            break
                        if pos < 0 and cand >= 0:
                            pos = cand
                            cmd = cand_c
                        if pos >= 0:
                            src_w = wmode
                            tr = snb[pos] >> RSH
                            tbk = snb[pos] - tr * NBK
                        elif not issued:
                            # none ready: the earliest ready cycle of the late slots is the wake-up (after a
                            # command this tick the unit wakes next cycle anyway)
                            m = min(m, earliest_ready(slb, snb, sid, row, isw, bk, rd, alo, alo + lim, clk, ubk, ub,
                                                      BSH, RSH, OG, ORK, refblk, rw, R_PEND * UR + u * R,
                                                      R_PB * UR + u * R, NBK))
                    # 4. timeout policy: close idle banks
                    if cmd < 0 and policy == 2 and want != 2:
                        for nb in range(NBT):
                            idle = bk[(ubk + nb) * BKW + OPEN_ROW] >= 0 and bw[B_QCOUNT * UNB + ubk + nb] == 0
                            if idle and bw[B_LASTCOL * UNB + ubk + nb] + timeout <= clk and ready_at(
                                    rd, ub, nb, PRE, BSH, RSH, OG, ORK) <= clk:
                                cmd = PRE
                                tr = nb // NBK
                                tbk = nb % NBK
                                break
                    if cmd < 0:
                        break
                    q = sid[pos] if pos >= 0 else -1
                    rw_ = row[q] if pos >= 0 else -1
                    cl = col[q] if pos >= 0 else -1
                    nbi = tr * NBK + tbk
                    if pos >= 0 and (cmd == RD or cmd == WR) and policy == 1:
                        # closed page: auto-precharge unless another queued request targets the row
                        shared = False
                        for j in range(base, base + us[v + US_RN]):
                            if j != pos and snb[j] == nbi and row[sid[j]] == rw_:
                                shared = True
                        for j in range(base + qr, base + qr + us[v + US_WN]):
                            if j != pos and snb[j] == nbi and row[sid[j]] == rw_:
                                shared = True
                        if not shared:
                            cmd = RDA if cmd == RD else WRA
                    is_col = cmd == RD or cmd == WR or cmd == RDA or cmd == WRA
                    if pos >= 0 and cls[q] < 0:
                        cls[q] = 0 if is_col else (1 if cmd == ACT else 2)
                    if cmd == PREA or cmd == REFAB:
                        tbk = -1
                    issue(dev, u, tr, nbi if tbk >= 0 else none, rw_, cmd, clk)
                    if cmd == ACT or cmd == PRE or cmd == RDA or cmd == WRA:
                        # the bank changed (open row): void the bounds of its queued requests, in both queues
                        _void(slb, snb, base, base + us[v + US_RN], nbi, 0)
                        _void(slb, snb, base + qr, base + qr + us[v + US_WN], nbi, 0)
                        if cmd == ACT:
                            # the active queue's other requests to closed banks of the rank need an ACT too: none
                            # before the rank allows the next one
                            la = rd[(ub + ORK + tr) * NC + ACT]
                            alo = base + (qr if wmode else 0)
                            for j in range(alo, alo + us[v + (US_WN if wmode else US_RN)]):
                                x = uintp(j)
                                nb = snb[x]
                                up = ((nb >> RSH) == tr) & (bk[uintp((ubk + nb) * BKW + OPEN_ROW)] < 0)
                                slb[x] = max(slb[x], la) if up else slb[x]
                    elif cmd == PREA:
                        _void(slb, snb, base, base + us[v + US_RN], tr, RSH)
                        _void(slb, snb, base + qr, base + qr + us[v + US_WN], tr, RSH)
                    if o_fix:
                        # every other owner's column command also waits for its rank's next-allowed cycle of that
                        # command, which only grows: the earliest of those bounds them all
                        lr = INF
                        for r in range(R):
                            x = (ub + ORK + r) * NC
                            lr = min(lr, rd[x + RD] if o_rd else INF, rd[x + WR] if o_wr else INF)
                        us[v + US_OMIN] = max(o_min, lr)
                    if log_on:
                        log_cmd(lg, lg_n, clk, cmd, u, tr, tbk, rw_, cl)
                    issued = True
                    if is_col:
                        used_col = True
                        bw[B_LASTCOL * UNB + ubk + nbi] = clk
                    else:
                        used_row = True
                    if cmd == REFAB:
                        rw[R_PEND * UR + u * R + tr] = 0
                    elif cmd == REFPB:
                        rw[R_PB * UR + u * R + tr] = -1
                    # row ownership: set by an ACT for a request, cleared by its column command or a close
                    rlo = tr * NBK if cmd == PREA else nbi
                    rhi = rlo + NBK if cmd == PREA else nbi + 1
                    if not (cmd == PREA or cmd == PRE or cmd == RDA or cmd == WRA
                            or (is_col and bw[B_OWNER * UNB + ubk + nbi] == q)):
                        rhi = rlo
                    elif cmd == RD or cmd == WR:
                        # the owner served: its bank's other requests (INF: they wait for it) need the PRE
                        tp = ready_at(rd, ub, nbi, PRE, BSH, RSH, OG, ORK)
                        _unblock(slb, snb, base, base + us[v + US_RN], nbi, tp)
                        _unblock(slb, snb, base + qr, base + qr + us[v + US_WN], nbi, tp)
                    for x in range(rlo, rhi):
                        i = ubk + x
                        if bw[B_OWNER * UNB + i] >= 0:
                            bw[B_OWNER * UNB + i] = -1
                            k = bw[B_OPOS * UNB + i]
                            on = us[v + US_ON] - 1
                            last = bw[B_OLIST * UNB + ubk + on]
                            bw[B_OLIST * UNB + ubk + k] = last
                            bw[B_OPOS * UNB + ubk + last] = k
                            us[v + US_ON] = on
                    if cmd == ACT and pos >= 0 and sched == 0:
                        bw[B_OWNER * UNB + ubk + nbi] = q
                        bw[B_OWNER_W * UNB + ubk + nbi] = src_w
                        bw[B_OWNER_ST * UNB + ubk + nbi] = stamp[q]
                        # the owner's column command is fixed: its cycle now is a bound for as long as it owns
                        t = ready_at(rd, ub, nbi, WR if src_w else RD, BSH, RSH, OG, ORK)
                        bw[B_OWNER_LB * UNB + ubk + nbi] = t
                        us[v + US_OMIN] = min(us[v + US_OMIN], t)
                        # the owner's slot needs no visit in the queue scan: whenever that scan runs, the owner
                        # scan (same refresh filter) has found no owner ready; a close voids the bound
                        slb[pos] = INF
                        on = us[v + US_ON]
                        bw[B_OLIST * UNB + ubk + on] = nbi
                        bw[B_OPOS * UNB + ubk + nbi] = on
                        us[v + US_ON] = on + 1
                    if is_col and pos >= 0:
                        bw[B_QCOUNT * UNB + ubk + nbi] -= 1
                        if src_w:
                            wkey[akey[q]] -= 1
                            done[q] = clk
                            end = base + qr + us[v + US_WN]
                            us[v + US_WN] -= 1
                        else:
                            done[q] = clk + rd_lat
                            end = base + us[v + US_RN]
                            us[v + US_RN] -= 1
                        for j in range(pos, end - 1):
                            x = uintp(j)
                            y = uintp(j + 1)
                            sid[x] = sid[y]
                            snb[x] = snb[y]
                            slb[x] = slb[y]
                        outstanding -= 1
                    if used_row and used_col:
                        break
                if issued:
                    w = clk + 1
                    if skip and not used_col and sched == 0 and policy != 2:
                        # row commands only: the queues and so the write mode are unchanged, and without a
                        # refresh pending nothing issues before the bounds (a bound due next cycle gives clk + 1)
                        lw = INF
                        for r in range(R):
                            i = u * R + r
                            lw = min(lw, rw[R_DUE * UR + i], -INF if rw[R_PEND * UR + i] != 0 or
                                     rw[R_PB * UR + i] >= 0 else INF)
                        if us[v + US_ON] > 0:
                            lw = min(lw, us[v + US_OMIN])
                        alo = base + (qr if wmode else 0)
                        for j in range(alo, alo + us[v + (US_WN if wmode else US_RN)]):
                            lw = min(lw, slb[uintp(j)])
                        w = max(w, lw)
                    us[v + US_WAKE] = w
                else:
                    # the other queue cannot issue before a size change, which wakes the unit
                    for r in range(R):
                        i = u * R + r
                        m = min(m, rw[R_DUE * UR + i])
                        if rw[R_PEND * UR + i]:
                            c = PREA if rk[(u * R + r) * RKW + N_OPEN] > 0 else REFAB
                            t = rd[(ub + ORK + r) * NC + c]
                            if t > clk:
                                m = min(m, t)
                        elif rw[R_PB * UR + i] >= 0:
                            nb = r * NBK + rw[R_PB * UR + i]
                            c = PRE if bk[(ubk + nb) * BKW + OPEN_ROW] >= 0 else REFPB
                            t = ready_at(rd, ub, nb, c, BSH, RSH, OG, ORK)
                            if t > clk:
                                m = min(m, t)
                    if policy == 2:
                        for nb in range(NBT):
                            if bk[(ubk + nb) * BKW + OPEN_ROW] >= 0 and bw[B_QCOUNT * UNB + ubk + nb] == 0:
                                t = max(bw[B_LASTCOL * UNB + ubk + nb] + timeout,
                                        ready_at(rd, ub, nb, PRE, BSH, RSH, OG, ORK))
                                if t > clk:
                                    m = min(m, t)
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
                f = arr[nxt]
            nc = min(nc, f)
        if nc >= INF:
            break
        clk = max(nc, clk + 1)
    return merged, fwd
