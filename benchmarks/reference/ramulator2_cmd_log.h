// pimsim validation (pimsim's own code; no Ramulator code is kept in this file): interface of the
// command-log controller plugin in ramulator2_cmd_log.cpp, for drivers that want to observe every issued
// command as well as (or instead of) logging it to a file.
#pragma once

#include <cstdint>
#include <string>

namespace Ramulator {
struct Request;
}

namespace pimsim_ref {

// Called for every command a controller issues, before the controller applies it: the controller's
// clock, the command's name in the DRAM standard, and the request it serves (command, final_command,
// type_id, addr_vec, scratchpad as Ramulator set them).
using IssueHook = void (*)(int64_t clk, const std::string& command, const Ramulator::Request& req);

// Install (or, with nullptr, remove) the hook; one hook for all controllers.
void set_issue_hook(IssueHook hook);

}  // namespace pimsim_ref
