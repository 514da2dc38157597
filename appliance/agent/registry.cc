// The op table: filled by DK_AGENT_OP's static registrars before main().
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "appliance/agent/op.h"

namespace dk::agent {
namespace {

std::map<std::string, OpFn, std::less<>>& table() {
  static std::map<std::string, OpFn, std::less<>> t;  // built on first use: static-init order safe
  return t;
}

}  // namespace

void register_op(const char* name, OpFn fn) {
  if (!table().emplace(name, fn).second) {
    std::fprintf(stderr, "diskit-agent: op '%s' is registered twice\n", name);
    std::abort();
  }
}

OpFn find_op(std::string_view name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : it->second;
}

}  // namespace dk::agent
