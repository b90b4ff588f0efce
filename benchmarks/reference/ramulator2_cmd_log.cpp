// pimsim validation (pimsim's own code; no Ramulator code is kept in this file): a Ramulator 2.0
// controller plugin that logs every command the controller issues, written against Ramulator's plugin
// interface (IControllerPlugin) and registration macro like any user plugin.
//
// YAML (under MemorySystem.Controller):
//
//   plugins:
//     - ControllerPlugin:
//         impl: PimsimCmdLog
//         path: cmds.csv        # optional; without it nothing is written (the issue hook still runs)
//
// Every controller (channel) appends to the same file, one line per command:
//
//   clk,COMMAND,addr_vec[0],addr_vec[1],...
//
// clk is the controller's clock at issue (its tick count, 1 at the first tick), COMMAND the standard's
// command name (ACT, PRE, PREA, RD, WR, RDA, WRA, REFab, ...) and addr_vec the request's address vector in the
// standard's level order (DDR4: channel, rank, bankgroup, bank, row, column; HBM2: channel,
// pseudochannel, bankgroup, bank, row, column); -1 marks a level the command does not address.
// Controllers tick in channel order, so the file is sorted by (clk, channel).
//
// The plugin registers itself through a static initialiser: link this object file directly (or the
// archive with --whole-archive) so that the linker keeps it; see benchmarks/reference/README.md.
#include "ramulator2_cmd_log.h"

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "base/base.h"
#include "dram/dram.h"
#include "dram_controller/controller.h"
#include "dram_controller/plugin.h"

namespace pimsim_ref {

namespace {

IssueHook g_hook = nullptr;

struct FileCloser {
    void operator()(std::FILE* f) const {
        if (f) std::fclose(f);
    }
};

// One open file per path, shared by the plugin instances of all channels, closed at exit.
std::FILE* shared_file(const std::string& path) {
    static std::map<std::string, std::unique_ptr<std::FILE, FileCloser>> files;
    auto it = files.find(path);
    if (it == files.end()) {
        std::FILE* f = std::fopen(path.c_str(), "w");
        if (!f) throw Ramulator::ConfigurationError("PimsimCmdLog: cannot open {} for writing", path);
        it = files.emplace(path, std::unique_ptr<std::FILE, FileCloser>(f)).first;
    }
    return it->second.get();
}

}  // namespace

void set_issue_hook(IssueHook hook) { g_hook = hook; }

}  // namespace pimsim_ref

namespace Ramulator {

class PimsimCmdLog : public IControllerPlugin, public Implementation {
    RAMULATOR_REGISTER_IMPLEMENTATION(IControllerPlugin, PimsimCmdLog, "PimsimCmdLog",
                                      "pimsim: log every issued command (clk, name, address vector).")

  private:
    IDRAM* m_dram = nullptr;
    std::FILE* m_file = nullptr;
    int64_t m_ticks = 0;  // the controller calls update() once per tick, so this is its clock (m_clk)

  public:
    void init() override {
        const std::string path = param<std::string>("path").default_val("");
        if (!path.empty()) m_file = pimsim_ref::shared_file(path);
    }

    void setup(IFrontEnd* frontend, IMemorySystem* memory_system) override {
        m_ctrl = cast_parent<IDRAMController>();
        m_dram = m_ctrl->m_dram;
    }

    void update(bool request_found, ReqBuffer::iterator& req_it) override {
        const int64_t clk = ++m_ticks;
        if (!request_found) return;
        const Request& req = *req_it;
        const std::string name(m_dram->m_commands(req.command));
        if (m_file) {
            std::fprintf(m_file, "%lld,%s", static_cast<long long>(clk), name.c_str());
            for (int v : req.addr_vec) std::fprintf(m_file, ",%d", v);
            std::fputc('\n', m_file);
        }
        if (pimsim_ref::g_hook) pimsim_ref::g_hook(clk, name, req);
    }
};

}  // namespace Ramulator
