// pimsim validation driver (pimsim's own code; no Ramulator code is kept in this file): runs a
// timestamped request trace through Ramulator 2.0 until every request has completed, and prints a JSON
// summary, so that benchmarks/validate_dram_reference.py can compare Ramulator with pimsim's `ramulator2`
// profile. Linked against the objects of a Ramulator 2.0 checkout (benchmarks/reference/README.md); it
// replaces only the frontend and adds the command-log plugin of ramulator2_cmd_log.cpp.
//
//   usage: ramulator2_run_trace -f CONFIG.yaml -t TRACE.csv [-l CMDLOG.csv] [-r REQUESTS.csv]
//                               [-p KEY=VALUE]... [--stats]
//
//   -f  Ramulator 2.0 YAML (its Frontend section is replaced; the memory system is used as given)
//   -t  trace, "cycle,addr,op" lines (op R or W; addr 0x-hex or decimal); '#' lines and a header skipped
//   -l  command log (see ramulator2_cmd_log.cpp for the line format)
//   -r  per request: accept cycle, completion cycle, Ramulator's depart cycle (reads)
//   -p  Ramulator's own config override, e.g. -p MemorySystem.DRAM.org.density=8192
//   --stats  also print Ramulator's statistics (finalize) after the summary
//
// Frontend rule: request i is offered at the first frontend tick t >= cycle[i] (t counts from 0), at
// most one request per tick, in trace order, retried every tick while the memory system rejects it --
// Ramulator's LoadStoreTrace frontend is the special case cycle[i] = 0. The loop is Ramulator's main loop
// (frontend tick, finished check, memory tick) but "finished" waits until every request has completed:
// a read at its callback, a write when its final command (WR/WRA) issues, Ramulator having no write
// callback. Cycles are memory-controller clocks.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/base.h"
#include "base/config.h"
#include "base/request.h"
#include "frontend/frontend.h"
#include "memory_system/memory_system.h"
#include "ramulator2_cmd_log.h"

namespace {

struct Run {
    std::vector<int64_t> cycle, addr, accept, done, depart;
    std::vector<char> is_write;
    size_t next = 0, completed = 0;
    int64_t mem_clk = 0;
    std::map<std::string, size_t> commands;
};
Run g_run;

void on_issue(int64_t clk, const std::string& command, const Ramulator::Request& req) {
    g_run.commands[command]++;
    if (req.command == req.final_command && req.type_id == Ramulator::Request::Type::Write) {
        const size_t i = static_cast<size_t>(req.scratchpad[0]);
        g_run.done[i] = clk;
        g_run.completed++;
    }
}

void read_trace(const std::string& path) {
    std::ifstream f(path);
    if (!f) {
        std::cerr << "cannot open " << path << "\n";
        std::exit(2);
    }
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0]))) continue;  // '#', header
        std::stringstream ss(line);
        std::string c, a, op;
        std::getline(ss, c, ',');
        std::getline(ss, a, ',');
        std::getline(ss, op, ',');
        op.erase(std::remove_if(op.begin(), op.end(), [](unsigned char x) { return std::isspace(x); }), op.end());
        const bool hex = a.rfind("0x", 0) == 0 || a.rfind("0X", 0) == 0;
        g_run.cycle.push_back(std::stoll(c));
        g_run.addr.push_back(hex ? std::stoll(a.substr(2), nullptr, 16) : std::stoll(a));
        g_run.is_write.push_back(op == "W" || op == "w");
    }
    const size_t n = g_run.cycle.size();
    g_run.accept.assign(n, -1);
    g_run.done.assign(n, -1);
    g_run.depart.assign(n, -1);
}

}  // namespace

namespace Ramulator {

// Timestamped trace frontend (see the header comment).
class PimsimTimedTrace : public IFrontEnd, public Implementation {
    RAMULATOR_REGISTER_IMPLEMENTATION(IFrontEnd, PimsimTimedTrace, "PimsimTimedTrace",
                                      "pimsim: timestamped trace, run to completion.")

  private:
    int64_t m_tick = 0;

  public:
    void init() override { m_clock_ratio = param<uint>("clock_ratio").required(); }

    void tick() override {
        Run& r = g_run;
        if (r.next < r.cycle.size() && r.cycle[r.next] <= m_tick) {
            const size_t i = r.next;
            Request req(r.addr[i], r.is_write[i] ? Request::Type::Write : Request::Type::Read);
            req.scratchpad[0] = static_cast<int>(i);
            req.callback = [](Request& done) {
                const size_t j = static_cast<size_t>(done.scratchpad[0]);
                g_run.done[j] = g_run.mem_clk;
                g_run.depart[j] = done.depart;
                g_run.completed++;
            };
            if (m_memory_system->send(req)) {
                r.accept[i] = m_tick;
                r.next++;
            }
        }
        m_tick++;
    }

    bool is_finished() override { return g_run.next >= g_run.cycle.size() && g_run.completed >= g_run.cycle.size(); }
};

}  // namespace Ramulator

int main(int argc, char* argv[]) {
    std::string config_file, trace, log_path, req_path;
    std::vector<std::string> overrides;
    bool stats = false;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "-f" && has_value) config_file = argv[++i];
        else if (a == "-t" && has_value) trace = argv[++i];
        else if (a == "-l" && has_value) log_path = argv[++i];
        else if (a == "-r" && has_value) req_path = argv[++i];
        else if (a == "-p" && has_value) overrides.push_back(argv[++i]);
        else if (a == "--stats") stats = true;
        else {
            std::cerr << "usage: ramulator2_run_trace -f CONFIG.yaml -t TRACE.csv [-l CMDLOG.csv] "
                         "[-r REQUESTS.csv] [-p KEY=VALUE]... [--stats]\n";
            return 2;
        }
    }
    if (config_file.empty() || trace.empty()) {
        std::cerr << "-f CONFIG.yaml and -t TRACE.csv are required\n";
        return 2;
    }
    read_trace(trace);
    pimsim_ref::set_issue_hook(on_issue);

    using namespace Ramulator;
    YAML::Node config = Config::parse_config_file(config_file, overrides);
    YAML::Node frontend_cfg;
    frontend_cfg["impl"] = "PimsimTimedTrace";
    frontend_cfg["clock_ratio"] = 1;
    config["Frontend"] = frontend_cfg;
    YAML::Node plugin;
    plugin["ControllerPlugin"]["impl"] = "PimsimCmdLog";
    if (!log_path.empty()) plugin["ControllerPlugin"]["path"] = log_path;
    YAML::Node plugins(YAML::NodeType::Sequence);
    plugins.push_back(plugin);
    config["MemorySystem"]["Controller"]["plugins"] = plugins;

    IFrontEnd* frontend = Factory::create_frontend(config);
    IMemorySystem* memory_system = Factory::create_memory_system(config);
    frontend->connect_memory_system(memory_system);
    memory_system->connect_frontend(frontend);

    // Ramulator's main loop, with the completion-aware is_finished() and a safety limit.
    const int frontend_tick = frontend->get_clock_ratio();
    const int mem_tick = memory_system->get_clock_ratio();
    const int tick_mult = frontend_tick * mem_tick;
    const int64_t limit = (g_run.cycle.empty() ? 0 : g_run.cycle.back()) + 100000000LL;
    bool limited = false;
    for (int64_t i = 0;; i++) {
        if (((i % tick_mult) % mem_tick) == 0) frontend->tick();
        if (frontend->is_finished()) break;
        if ((i % tick_mult) % frontend_tick == 0) {
            g_run.mem_clk++;
            memory_system->tick();
        }
        if (i > limit) {
            std::cerr << "no completion within " << limit << " ticks\n";
            limited = true;
            break;
        }
    }

    const size_t n = g_run.cycle.size();
    size_t reads = 0;
    double lat_callback = 0, lat_depart = 0;
    int64_t last_done = 0, last_accept = 0;
    for (size_t i = 0; i < n; i++) {
        last_done = std::max(last_done, g_run.done[i]);
        last_accept = std::max(last_accept, g_run.accept[i]);
        if (!g_run.is_write[i] && g_run.done[i] >= 0) {
            reads++;
            lat_callback += g_run.done[i] - g_run.accept[i];
            lat_depart += g_run.depart[i] - g_run.accept[i];
        }
    }
    std::printf("{\"requests\": %zu, \"reads_completed\": %zu, \"completed\": %zu, \"cycles\": %lld, "
                "\"last_accept_cycle\": %lld, \"read_latency_mean_callback\": %.10f, "
                "\"read_latency_mean_depart\": %.10f, \"limit_reached\": %s, \"commands\": {",
                n, reads, g_run.completed, static_cast<long long>(last_done), static_cast<long long>(last_accept),
                reads ? lat_callback / reads : 0.0, reads ? lat_depart / reads : 0.0, limited ? "true" : "false");
    bool first = true;
    for (const auto& [name, count] : g_run.commands) {
        std::printf("%s\"%s\": %zu", first ? "" : ", ", name.c_str(), count);
        first = false;
    }
    std::printf("}}\n");
    std::fflush(stdout);
    if (!req_path.empty()) {
        std::FILE* rf = std::fopen(req_path.c_str(), "w");
        if (!rf) {
            std::cerr << "cannot write " << req_path << "\n";
            return 2;
        }
        for (size_t i = 0; i < n; i++)
            std::fprintf(rf, "%lld,%lld,%lld\n", static_cast<long long>(g_run.accept[i]),
                         static_cast<long long>(g_run.done[i]), static_cast<long long>(g_run.depart[i]));
        std::fclose(rf);
    }
    if (stats) {
        frontend->finalize();
        memory_system->finalize();
    }
    return limited ? 1 : 0;
}
