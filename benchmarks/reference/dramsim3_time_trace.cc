// pimsim benchmark driver (our code): a DRAMsim3-format trace through DRAMsim3 with the frontend rule of its
// TraceBasedCPU, run until every request completed;
// prints wall seconds of the simulation loop only (trace read before, stats after).
// usage: dramsim3_time_trace CONFIG.ini TRACE OUTDIR
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>
#include "memory_system.h"
using namespace dramsim3;
struct Req { uint64_t addr; bool w; uint64_t cyc; };
int main(int argc, char** argv) {
    std::vector<Req> reqs;
    std::ifstream f(argv[2]);
    std::string a, op; uint64_t c;
    while (f >> a >> op >> c)
        reqs.push_back({strtoull(a.c_str(), 0, 16), op == "WRITE" || op == "write" || op == "P_MEM_WR" || op == "BOFF", c});
    uint64_t done = 0, clk = 0;
    auto cb = [&](uint64_t) { done++; };
    MemorySystem mem(argv[1], argv[3], cb, cb);
    size_t nxt = 0, n = reqs.size();
    auto t0 = std::chrono::steady_clock::now();
    for (;; clk++) {
        mem.ClockTick();
        if (nxt < n && reqs[nxt].cyc <= clk && mem.WillAcceptTransaction(reqs[nxt].addr, reqs[nxt].w)) {
            mem.AddTransaction(reqs[nxt].addr, reqs[nxt].w);
            nxt++;
        }
        if (nxt == n && done >= n) break;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("requests %zu cycles %llu seconds %.4f\n", n, (unsigned long long)clk, s);
    return 0;
}
