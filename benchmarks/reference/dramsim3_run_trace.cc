// pimsim validation driver (pimsim's own code; no DRAMsim3 code is kept in this file): runs a
// DRAMsim3-format trace through DRAMsim3's MemorySystem to completion and prints a summary, so that
// benchmarks/validate_dram_reference.py can compare DRAMsim3 with pimsim's `dramsim3` profile.
//
//   usage: dramsim3_run_trace CONFIG.ini TRACE OUTDIR [MAX_CYCLES]
//
// TRACE: DRAMsim3's "<hex addr> <op> <cycle>" lines; WRITE/write/P_MEM_WR/BOFF are writes, any other
// op a read (as DRAMsim3's own trace reader). Frontend rule = DRAMsim3's TraceBasedCPU::ClockTick: every
// cycle `memory.ClockTick()`, then, if the next request's cycle <= clk and WillAcceptTransaction() says
// yes, AddTransaction() -- at most one request per cycle, in trace order, stalling while refused.
// Differences to TraceBasedCPU, on purpose: the trace is read before the run (no re-read of the last
// line at EOF), and the run stops when every request has called back and every controller is idle
// (read queue and command queues empty, not draining writes, <= 8 buffered writes), or -- like pimsim's
// dramsim3 kernel -- after 1e6 + 8 * refresh interval * ranks cycles without progress (DRAMsim3's
// read->write dependency can deadlock with a full write buffer).
//
// Build DRAMsim3 with -DCMD_TRACE so that each controller writes OUTDIR/dramsim3ch_<N>cmd.trace
// (one line per issued command: clk, command, channel, rank, bankgroup, bank, row, column); see
// benchmarks/reference/README.md. Output: DRAMsim3's own dramsim3.json / dramsim3.txt in OUTDIR, and one
// stdout line "RESULT {json}" with DRAMsim3's counters summed over channels, its average_read_latency and
// bandwidth, the driver's own mean read latency (sum of callback cycles - sum of added cycles, over
// reads), the last callback cycles, undrained writes and whether the no-progress limit ended the run.
//
// The controllers' private members are read (never written) through `#define private public`, for the
// stop rule only.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "json.hpp"  // DRAMsim3's bundled nlohmann::json (ext/headers)
// Standard headers first: they must not see the redefinition below.
#define private public
#define protected public
#include "memory_system.h"
#undef private
#undef protected

using namespace dramsim3;

namespace {

struct Req {
    uint64_t addr;
    bool write;
    uint64_t cycle;
};

std::vector<Req> read_trace(const std::string& path) {
    std::ifstream f(path);
    if (!f) {
        std::cerr << "cannot open " << path << "\n";
        std::exit(2);
    }
    std::vector<Req> reqs;
    std::string addr, op;
    uint64_t cycle;
    while (f >> addr >> op >> cycle) {
        bool w = op == "WRITE" || op == "write" || op == "P_MEM_WR" || op == "BOFF";
        reqs.push_back({std::strtoull(addr.c_str(), nullptr, 16), w, cycle});
    }
    return reqs;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: dramsim3_run_trace CONFIG.ini TRACE OUTDIR [MAX_CYCLES]\n";
        return 2;
    }
    const std::string config_file = argv[1], out_dir = argv[3];
    const uint64_t max_cycles = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 2000000000ULL;
    const std::vector<Req> reqs = read_trace(argv[2]);
    uint64_t n_reads = 0, n_writes = 0;
    for (const Req& r : reqs) (r.write ? n_writes : n_reads)++;

    uint64_t clk = 0, rd_done = 0, wr_done = 0, last_cb = 0, last_rd_cb = 0;
    long double sum_rd_cb = 0, sum_rd_added = 0;
    auto read_cb = [&](uint64_t) { rd_done++; last_cb = clk; last_rd_cb = clk; sum_rd_cb += clk; };
    auto write_cb = [&](uint64_t) { wr_done++; last_cb = clk; };
    MemorySystem mem(config_file, out_dir, read_cb, write_cb);
    const auto& ctrls = mem.dram_system_->ctrls_;

    // No-progress limit as in pimsim's dramsim3 kernel. Progress: an accepted request, a callback, or a
    // change of the queue occupancies or of the ACT/RD/WR counters (refresh alone is not progress).
    const Config& cfg = *mem.config_;
    const uint64_t ref_interval =
        cfg.refresh_policy == RefreshPolicy::RANK_LEVEL_SIMULTANEOUS ? cfg.tREFI : cfg.tREFI / cfg.ranks;
    const uint64_t limit = 1000000ULL + 8ULL * ref_interval * cfg.ranks;
    auto signature = [&]() {
        uint64_t s = 0;
        for (auto* c : ctrls) {
            s = s * 1315423911ULL + c->read_queue_.size() * 7 + c->write_buffer_.size() * 131 +
                c->cmd_queue_.QueueUsage() * 8191;
            for (const char* k : {"num_act_cmds", "num_read_cmds", "num_write_cmds"})
                s = s * 31 + c->simple_stats_.epoch_counters_[k] + c->simple_stats_.counters_[k];
        }
        return s;
    };

    size_t next = 0;
    uint64_t last_progress = 0, prev_sig = 0;
    bool deadlock = false;
    for (; clk < max_cycles; clk++) {
        mem.ClockTick();
        if (next < reqs.size() && reqs[next].cycle <= clk &&
            mem.WillAcceptTransaction(reqs[next].addr, reqs[next].write)) {
            mem.AddTransaction(reqs[next].addr, reqs[next].write);
            if (!reqs[next].write) sum_rd_added += clk + 1;  // the controller stamps added_cycle = clk + 1
            next++;
            last_progress = clk;
        }
        if (rd_done + wr_done > 0 && last_cb == clk) last_progress = clk;
        const uint64_t sig = signature();
        if (sig != prev_sig) {
            prev_sig = sig;
            last_progress = clk;
        }
        if (next == reqs.size() && rd_done == n_reads && wr_done == n_writes) {
            bool idle = true;
            for (auto* c : ctrls) {
                if (!c->read_queue_.empty() || !c->cmd_queue_.QueueEmpty() || c->write_draining_ > 0 ||
                    c->write_buffer_.size() > 8 || !c->return_queue_.empty()) {
                    idle = false;
                    break;
                }
            }
            if (idle) {
                clk++;
                break;
            }
        }
        if (clk - last_progress > limit) {
            deadlock = true;
            clk++;
            break;
        }
    }
    uint64_t undrained = 0;
    for (auto* c : ctrls) undrained += c->write_buffer_.size();
    mem.PrintStats();

    // Summarise DRAMsim3's dramsim3.json (one object per channel): counters summed over channels.
    std::ifstream jf(out_dir + "/dramsim3.json");
    nlohmann::json stats;
    jf >> stats;
    nlohmann::json o;
    for (const char* k : {"num_act_cmds", "num_read_cmds", "num_write_cmds", "num_pre_cmds", "num_ondemand_pres",
                          "num_ref_cmds", "num_refb_cmds", "num_read_row_hits", "num_write_row_hits",
                          "num_reads_done", "num_writes_done", "hbm_dual_cmds", "num_cycles"}) {
        uint64_t s = 0;
        for (auto& ch : stats) s += ch[k].get<uint64_t>();
        o[k] = s;
    }
    double bw = 0, lat_weighted = 0;
    uint64_t lat_n = 0;
    for (auto& ch : stats) {
        bw += ch["average_bandwidth"].get<double>();
        const uint64_t n = ch["num_reads_done"].get<uint64_t>();
        lat_weighted += ch["average_read_latency"].get<double>() * n;
        lat_n += n;
    }
    o["average_bandwidth_sum_GBps"] = bw;
    o["average_read_latency"] = lat_n ? lat_weighted / lat_n : 0.0;
    o["requests"] = reqs.size();
    o["reads"] = n_reads;
    o["writes"] = n_writes;
    o["reads_done"] = rd_done;
    o["writes_done"] = wr_done;
    o["end_cycle"] = clk;
    o["last_callback_cycle"] = last_cb;
    o["last_read_callback_cycle"] = last_rd_cb;
    o["mean_read_latency_driver"] = n_reads ? static_cast<double>((sum_rd_cb - sum_rd_added) / n_reads) : 0.0;
    o["writes_undrained"] = undrained;
    o["deadlock"] = deadlock;
    o["tCK"] = mem.GetTCK();
    std::cout << "RESULT " << o.dump() << std::endl;
    return 0;
}
