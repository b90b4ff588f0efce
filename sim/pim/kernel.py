"""The in-order PIM controller of one channel, as a numba kernel over numpy arrays.

Input: one channel's command stream (``cmd``, ``mask``, ``row``, ``col``, ``cnt`` int64 arrays): entry
``i`` is command ``cmd[i]`` to the banks in bit mask ``mask[i]`` (flat bank ``rank * banks + bankgroup *
banks_per_group + bank``), row ``row[i]``, first column ``col[i]``, repeated ``cnt[i]`` times on
consecutive columns (column commands) or back to back (buffer / register transfers). The controller
issues the stream **in order** (as AiM's PIM controller does), each command at the earliest cycle every
constraint allows, at most one command per cycle:

* **bank state and row hits**: a column command (MAC, RD, WR, ...) needs its row open in the banks it
  reaches (all banks for all-bank commands, whose activate opens every bank). When it is not, the
  controller precharges (PREA for all banks, PRE4 for a bank group, PRE for one bank) and activates
  (ACT16 / ACT_AB, ACT4 or ACT) first; explicit ACT / PRE entries are honoured the same way (an ACT of a
  row already open is dropped, as is a PRE of closed banks). A column command is a *row miss* when it is
  the first access to a freshly activated row in any bank it reaches, a *row hit* otherwise (counted per
  command: an all-bank MAC counts once).
* **timing**: the dense constraint table of :mod:`sim.pim.timing` (``dly[preceding, relation,
  following]``, the relation being the scope bits that relate a bank to the issuing command's banks),
  next-allowed cycles per (bank, command), activate windows per rank (counting commands or bank
  activations), and the one-command-per-cycle command bus.
* **refresh**: all-bank REF every ``tREFI`` (the first one falls due ``ref_phase`` cycles in); when the
  next command would issue at or after the due cycle, the controller precharges all banks, refreshes,
  and re-activates the rows the stream needs next; after the stream's last command, the refreshes due
  before ``hold`` (the op's end on every channel: a channel stays powered while another still works).
* **repeats in closed form**: after the first command of an entry issues at ``t``, its repeats issue at
  ``t + k * d`` where ``d`` is the command's self-delay on its banks (the only constraint that changes
  between them), split at the next refresh. This is exact, not an approximation, and makes a 64-MAC row
  cost one step.

The kernel returns the completion cycle, counts (per command, and bank operations per command), row
hits/misses, cycles with a bank open, refreshes, an error code, and optionally the command log.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.pim.commands import K_ACT, K_COL, K_CTRL, K_PRE, K_REF, R_ALL, R_CHANNEL, R_GROUP, R_PARITY

INF = np.int64(1) << np.int64(60)
WMAX = 64
#: out[] slots
O_END, O_HITS, O_MISSES, O_ACTIVE, O_ERR, O_ERR_IDX, O_NLOG, O_OPEN_END, O_REFS, O_LAST, O_NEXTREF = range(11)
N_OUT = 12
#: error codes
E_OK, E_COLUMN, E_MODE, E_COUNT, E_MASK, E_ROW, E_LOG, E_BUFFER, E_UNKNOWN = range(9)
ERROR_TEXT = {
    E_COLUMN: "column range beyond the end of the row",
    E_MODE: "command not allowed in the current mode",
    E_COUNT: "count must be >= 1 (and 1 for ACT/PRE/REF)",
    E_MASK: "bank mask selects no bank or a bank beyond the channel",
    E_ROW: "row beyond the bank",
    E_BUFFER: "buffer range beyond the end of the buffer",
    E_UNKNOWN: "command not in this memory's command set",
}
#: columns of ``cprop`` (per command code) and ``bprop`` (per bank), slots of ``par``
CP_KIND, CP_REACH, CP_ACT_REACH, CP_MODES, CP_MODE_SET, CP_IS_BUF, CP_DONE = range(7)
BP_RANK, BP_BG, BP_BA, BP_BGMASK, BP_RANKMASK = range(5)
(P_ACT1, P_ACT4, P_ACTALL, P_PRE1, P_PRE4, P_PREALL, P_REF, P_NRANKS, P_ALL, P_NROWS, P_NCOLS, P_BUFCOLS,
 P_BPP, P_TREFI, P_PHASE, P_LOG, P_HOLD) = range(17)
#: controller state slots (one int64 array)
(S_TPREV, S_END, S_NOPEN, S_SINCE, S_ACTIVE, S_MODE, S_NLOG, S_HITS, S_MISSES, S_REFS, S_NEXTREF) = range(11)
N_STATE = 12


@njit(cache=True)
def _lowest(m):
    b = 0
    while b < 63 and ((m >> b) & 1) == 0:
        b += 1
    return b


@njit(cache=True)
def _rel(b, m, bprop):
    """Scope bits (1 same bank, 2 same bank group, 4 other bank group, 8 other rank) relating bank ``b``
    to the banks of mask ``m``."""
    me = np.int64(1) << np.int64(b)
    bgm = bprop[b, BP_BGMASK]
    rel = 0
    if m & me:
        rel |= 1
    if m & bgm & ~me:
        rel |= 2
    if m & bprop[b, BP_RANKMASK] & ~bgm:
        rel |= 4
    if m & ~bprop[b, BP_RANKMASK]:
        rel |= 8
    return rel


@njit(cache=True)
def _earliest(f, m, tmin, ready, is_act, win, act_t, act_w, act_n, bprop):
    """Earliest cycle >= ``tmin`` at which command ``f`` may reach the banks of ``m``."""
    nb = bprop.shape[0]
    t = tmin
    for b in range(nb):
        if (m >> b) & 1 and ready[b, f] > t:
            t = ready[b, f]
    if is_act:
        for r in range(act_n.shape[0]):
            w_own = 0
            for b in range(nb):
                if (m >> b) & 1 and bprop[b, BP_RANK] == r:
                    w_own += 1
            if w_own == 0:
                continue
            for k in range(win.shape[0]):
                s = w_own if win[k, 2] else 1
                n = act_n[r]
                j = 0
                while j < n and j < WMAX:
                    idx = (n - 1 - j) % WMAX
                    s += act_w[r, idx] if win[k, 2] else 1
                    if s > win[k, 0]:
                        v = act_t[r, idx] + win[k, 1]
                        if v > t:
                            t = v
                        break
                    j += 1
    return t


@njit(cache=True)
def _self_delay(dly, p, m, bprop):
    d = 1
    for b in range(bprop.shape[0]):
        if (m >> b) & 1:
            x = dly[p, _rel(b, m, bprop), p]
            if x > d:
                d = x
    return d


@njit(cache=True)
def _issue(q, qm, qr, qc, qn, t, d, S, ready, dly, fol_start, fol_list, cprop, bprop, par,
           open_row, nacc, act_t, act_w, act_n, counts, bank_ops, log):
    """Issue ``qn`` commands ``q`` to banks ``qm`` at ``t, t + d, ...``: timing, counts, bank state,
    row hits, mode, log."""
    nb = bprop.shape[0]
    t_last = t + (qn - 1) * d
    j0, j1 = fol_start[q], fol_start[q + 1]
    for b in range(nb):
        rel = _rel(b, qm, bprop)
        for j in range(j0, j1):
            f = fol_list[j]
            dd = dly[q, rel, f]
            if dd > 0 and t_last + dd > ready[b, f]:
                ready[b, f] = t_last + dd
    kq = cprop[q, CP_KIND]
    nbq = 0
    for b in range(nb):
        if (qm >> b) & 1:
            nbq += 1
    counts[q] += qn
    bank_ops[q] += qn * nbq
    if kq == K_ACT:
        for b in range(nb):
            if (qm >> b) & 1:
                if open_row[b] < 0:
                    S[S_NOPEN] += 1
                open_row[b] = qr
                nacc[b] = 0
        if S[S_NOPEN] > 0 and S[S_SINCE] < 0:
            S[S_SINCE] = t_last
        for rr in range(act_n.shape[0]):
            w = 0
            for b in range(nb):
                if (qm >> b) & 1 and bprop[b, BP_RANK] == rr:
                    w += 1
            if w > 0:
                idx = act_n[rr] % WMAX
                act_t[rr, idx] = t
                act_w[rr, idx] = w
                act_n[rr] += 1
    elif kq == K_PRE:
        was = S[S_NOPEN]
        for b in range(nb):
            if (qm >> b) & 1 and open_row[b] >= 0:
                open_row[b] = -1
                S[S_NOPEN] -= 1
        if was > 0 and S[S_NOPEN] == 0:
            S[S_ACTIVE] += t - S[S_SINCE]
            S[S_SINCE] = -1
    elif kq == K_REF:
        S[S_REFS] += 1
    elif kq == K_COL:
        first = False
        for b in range(nb):
            if (qm >> b) & 1:
                if nacc[b] == 0:
                    first = True
                nacc[b] += qn
        if first:
            S[S_MISSES] += 1
            S[S_HITS] += qn - 1
        else:
            S[S_HITS] += qn
    if cprop[q, CP_MODE_SET] >= 0:
        S[S_MODE] = cprop[q, CP_MODE_SET]
    if par[P_LOG]:
        b0 = _lowest(qm)
        lr, lg, lb = bprop[b0, BP_RANK], bprop[b0, BP_BG], bprop[b0, BP_BA]
        rq = cprop[q, CP_REACH]
        multi_rank = par[P_NRANKS] > 1
        if qm == par[P_ALL] or rq == R_ALL or rq == R_CHANNEL:
            if multi_rank:
                lr = -1
            lg = -1
            lb = -1
        elif rq == R_GROUP:
            lb = -1
        elif rq == R_PARITY:
            lg = -1
            lb = lb % par[P_BPP]
            if multi_rank:
                lr = -1
        for j in range(qn):
            n = S[S_NLOG]
            if n < log.shape[0]:
                log[n, 0] = t + j * d
                log[n, 1] = q
                log[n, 2] = lr
                log[n, 3] = lg
                log[n, 4] = lb
                log[n, 5] = qr
                log[n, 6] = qc + j if qc >= 0 else -1
            S[S_NLOG] = n + 1
    if t_last + cprop[q, CP_DONE] > S[S_END]:
        S[S_END] = t_last + cprop[q, CP_DONE]
    S[S_TPREV] = t_last


@njit(cache=True)
def _refresh(S, ready, dly, fol_start, fol_list, win, cprop, bprop, par, open_row, nacc, act_t, act_w, act_n,
             counts, bank_ops, log):
    """The refresh that has fallen due: precharge all banks if any is open, then REF."""
    t0 = S[S_TPREV] + 1
    if S[S_NEXTREF] > t0:
        t0 = S[S_NEXTREF]
    allm = par[P_ALL]
    none = np.int64(-1)
    one = np.int64(1)
    if S[S_NOPEN] > 0:
        qa = par[P_PREALL]
        ta = _earliest(qa, allm, t0, ready, S[S_NOPEN] < 0, win, act_t, act_w, act_n, bprop)
        _issue(qa, allm, none, none, one, ta, one, S, ready, dly, fol_start, fol_list, cprop, bprop, par,
               open_row, nacc, act_t, act_w, act_n, counts, bank_ops, log)
        t0 = ta + 1
    rc = par[P_REF]
    tr = _earliest(rc, allm, t0, ready, S[S_NOPEN] < 0, win, act_t, act_w, act_n, bprop)
    _issue(rc, allm, none, none, one, tr, one, S, ready, dly, fol_start, fol_list, cprop, bprop, par,
           open_row, nacc, act_t, act_w, act_n, counts, bank_ops, log)
    S[S_NEXTREF] += par[P_TREFI]


@njit(cache=True)
def _validate(p, m, r, c, rem, mode, cprop, par):
    """Error code of a stream entry (E_OK if it is well formed)."""
    k = cprop[p, CP_KIND]
    if cprop[p, CP_MODES] == 0:
        return E_UNKNOWN
    if rem < 1 or (k != K_CTRL and k != K_COL and rem != 1):
        return E_COUNT
    if m == 0 or (m & ~par[P_ALL]) != 0:
        return E_MASK
    if ((cprop[p, CP_MODES] >> mode) & 1) == 0:
        return E_MODE
    if (k == K_COL or k == K_ACT) and (r < 0 or r >= par[P_NROWS]):
        return E_ROW
    if k == K_COL and (c < 0 or c + rem > par[P_NCOLS]):
        return E_COLUMN
    if cprop[p, CP_IS_BUF] and (c < 0 or c + rem > par[P_BUFCOLS]):
        return E_BUFFER
    return E_OK


@njit(cache=True)
def _next_command(p, m, r, S, open_row, cprop, par):
    """What to issue next for entry ``(p, m, r)``: ``(q, qm, whole, skip)``. ``q`` is ``p`` itself, or the
    precharge / activate it needs first; ``whole`` means the entry's remaining repeats go with it; ``skip``
    means the entry needs nothing (an ACT of open rows, a PRE of closed banks)."""
    nb = open_row.shape[0]
    allm = par[P_ALL]
    k = cprop[p, CP_KIND]
    if k == K_COL or k == K_ACT:
        act_all = k == K_COL and cprop[p, CP_ACT_REACH] == R_ALL
        am = allm if act_all else m
        need = np.int64(0)
        wrong = np.int64(0)
        for b in range(nb):
            if (am >> b) & 1 and open_row[b] != r:
                need |= np.int64(1) << np.int64(b)
                if open_row[b] >= 0:
                    wrong |= np.int64(1) << np.int64(b)
        if need == 0:
            if k == K_ACT:
                return p, m, False, True
            return p, m, True, False
        group = cprop[p, CP_REACH] == R_GROUP
        if wrong != 0 or (act_all and need != allm):
            if am == allm:
                return par[P_PREALL], allm, False, False
            if par[P_PRE4] >= 0 and group:
                return par[P_PRE4], am, False, False
            return par[P_PRE1], np.int64(1) << np.int64(_lowest(wrong if wrong != 0 else need)), False, False
        if k == K_ACT and need == m:
            return p, m, True, False
        if need == allm and par[P_ACTALL] >= 0:
            return par[P_ACTALL], allm, False, False
        if par[P_ACT4] >= 0 and need == am and group:
            return par[P_ACT4], need, False, False
        return par[P_ACT1], np.int64(1) << np.int64(_lowest(need)), False, False
    if k == K_PRE:
        for b in range(nb):
            if (m >> b) & 1 and open_row[b] >= 0:
                return p, m, True, False
        return p, m, False, True
    if k == K_REF and S[S_NOPEN] > 0:
        return par[P_PREALL], allm, False, False
    return p, m, True, False


@njit(cache=True)
def run_channel(stream, dly, fol_start, fol_list, win, cprop, bprop, par, log):
    """Simulate one channel's stream (see the module docstring).

    ``stream`` int64 [n, 5]: cmd, mask, row, col, cnt. ``dly`` / ``fol_start`` / ``fol_list`` / ``win``:
    the constraint table (:class:`sim.pim.timing.PimTimingTable`). ``cprop`` int64 [NC, 7] per command
    (CP_* columns: kind, reach, act reach, mode mask, mode set, buffer write, completion latency);
    ``bprop`` int64 [NB, 5] per bank (rank, bank group, bank, bank-group mask, rank mask); ``par`` int64
    [17] (P_* slots: activate / precharge codes for one bank, a bank group and all banks, REF, ranks, the
    all-bank mask, rows, columns per row, buffer entries, banks per PU, tREFI, first refresh, log on, hold).

    Returns ``(out, counts, bank_ops)``: ``out`` int64[N_OUT] (O_* slots), ``counts`` int64[NC] commands
    issued per code, ``bank_ops`` int64[NC] banks reached summed per code. ``log`` int64 [cap, 7] rows
    ``(cycle, cmd, rank, bankgroup, bank, row, column)`` when logging; on overflow ``out[O_ERR]`` is
    E_LOG and ``out[O_NLOG]`` the rows needed.
    """
    nb = bprop.shape[0]
    nc = dly.shape[0]
    nr = par[P_NRANKS]
    ready = np.zeros((nb, nc), dtype=np.int64)
    open_row = np.full(nb, -1, dtype=np.int64)
    nacc = np.zeros(nb, dtype=np.int64)
    act_t = np.zeros((nr, WMAX), dtype=np.int64)
    act_w = np.zeros((nr, WMAX), dtype=np.int64)
    act_n = np.zeros(nr, dtype=np.int64)
    counts = np.zeros(nc, dtype=np.int64)
    bank_ops = np.zeros(nc, dtype=np.int64)
    out = np.zeros(N_OUT, dtype=np.int64)
    S = np.zeros(N_STATE, dtype=np.int64)
    S[S_TPREV] = -1
    S[S_SINCE] = -1
    S[S_NEXTREF] = par[P_PHASE] if par[P_TREFI] > 0 else INF
    n = stream.shape[0]
    i = 0
    rem = np.int64(0)
    ccol = np.int64(0)
    started = False
    while i < n:
        p = stream[i, 0]
        m = stream[i, 1]
        r = stream[i, 2]
        if not started:
            rem = stream[i, 4]
            ccol = stream[i, 3]
            started = True
            e = _validate(p, m, r, ccol, rem, S[S_MODE], cprop, par)
            if e != E_OK:
                out[O_ERR] = e
                out[O_ERR_IDX] = i
                break
        q, qm, whole, skip = _next_command(p, m, r, S, open_row, cprop, par)
        if skip:
            i += 1
            started = False
            continue
        if q != p and ((cprop[q, CP_MODES] >> S[S_MODE]) & 1) == 0:
            out[O_ERR] = E_MODE
            out[O_ERR_IDX] = i
            break
        kq = cprop[q, CP_KIND]
        t = _earliest(q, qm, S[S_TPREV] + 1, ready, kq == K_ACT, win, act_t, act_w, act_n, bprop)
        if t >= S[S_NEXTREF] and q != par[P_REF]:
            _refresh(S, ready, dly, fol_start, fol_list, win, cprop, bprop, par, open_row, nacc, act_t, act_w,
                     act_n, counts, bank_ops, log)
            continue
        qn = rem if (whole and (kq == K_COL or kq == K_CTRL)) else np.int64(1)
        d = np.int64(1)
        if qn > 1:
            d = _self_delay(dly, q, qm, bprop)
            if S[S_NEXTREF] < INF:
                fit = (S[S_NEXTREF] - 1 - t) // d + 1
                if fit < qn:
                    qn = fit
        qr = r if (kq == K_COL or kq == K_ACT) else np.int64(-1)
        qc = ccol if (q == p and kq != K_ACT and kq != K_PRE and kq != K_REF) else np.int64(-1)
        _issue(q, qm, qr, qc, qn, t, d, S, ready, dly, fol_start, fol_list, cprop, bprop, par,
               open_row, nacc, act_t, act_w, act_n, counts, bank_ops, log)
        if kq == K_REF:
            S[S_NEXTREF] = t + par[P_TREFI]
        if q == p and whole:
            rem -= qn
            ccol += qn
            if rem <= 0:
                i += 1
                started = False
    # the channel stays powered until the op ends on every channel (``P_HOLD``): the refreshes due before then
    while out[O_ERR] == 0 and S[S_NEXTREF] < par[P_HOLD]:
        _refresh(S, ready, dly, fol_start, fol_list, win, cprop, bprop, par, open_row, nacc, act_t, act_w,
                 act_n, counts, bank_ops, log)
    if S[S_NOPEN] > 0 and S[S_SINCE] >= 0:
        S[S_ACTIVE] += S[S_END] - S[S_SINCE]
    out[O_END] = S[S_END]
    out[O_HITS] = S[S_HITS]
    out[O_MISSES] = S[S_MISSES]
    out[O_ACTIVE] = S[S_ACTIVE]
    out[O_NLOG] = S[S_NLOG]
    out[O_OPEN_END] = 1 if S[S_NOPEN] > 0 else 0
    out[O_REFS] = S[S_REFS]
    out[O_LAST] = S[S_TPREV]
    out[O_NEXTREF] = S[S_NEXTREF]
    if par[P_LOG] and S[S_NLOG] > log.shape[0] and out[O_ERR] == 0:
        out[O_ERR] = E_LOG
    return out, counts, bank_ops


__all__ = ["ERROR_TEXT", "N_OUT", "O_ACTIVE", "O_END", "O_ERR", "O_ERR_IDX", "O_HITS", "O_LAST", "O_MISSES",
           "O_NLOG", "O_OPEN_END", "O_REFS", "run_channel"]
