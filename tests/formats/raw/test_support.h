// Helpers shared by the format tests: a scratch directory, running the
// qemu-img oracle, and a qemu-img-map-like walk over chain_block_status.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/chain.h"

namespace dk::fmt::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dk_test_XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    m_path = d ? d : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  std::string path(const std::string& name) const { return m_path + "/" + name; }
  const std::string& dir() const { return m_path; }

 private:
  std::string m_path;
};

inline bool have_program(const char* name) {
  std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Runs a shell command; returns its stdout, and its exit status in *status.
inline std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// One map entry as "start+length d=depth p z d off" for easy comparison.
inline std::string entry_string(uint64_t start, uint64_t len, int depth, bool present, bool zero,
                                bool data, std::optional<uint64_t> off) {
  return std::to_string(start) + "+" + std::to_string(len) + " d" + std::to_string(depth) +
         (present ? " P" : " -") + (zero ? "Z" : "-") + (data ? "D" : "-") +
         (off ? " @" + std::to_string(*off) : std::string());
}

// qemu-img map's walk and merge rules (qemu-img.c 7.2 img_map/entry_mergeable).
inline std::vector<std::string> our_map(Layer& top) {
  std::vector<std::string> out;
  std::optional<MapEntry> cur;
  const uint64_t size = top.size();
  uint64_t off = 0;
  while (off < size) {
    auto r = chain_block_status(top, off, std::min<uint64_t>(size - off, 1ull << 30));
    if (!r) {
      out.push_back("error: " + r.error().message);
      return out;
    }
    MapEntry n = *r;
    off += n.length;
    if (cur && cur->depth == n.depth && cur->present == n.present && cur->zero == n.zero &&
        cur->data == n.data && cur->offset.has_value() == n.offset.has_value() &&
        cur->file == n.file && (!cur->offset || *cur->offset + cur->length == *n.offset)) {
      cur->length += n.length;
      continue;
    }
    if (cur)
      out.push_back(entry_string(cur->start, cur->length, cur->depth, cur->present, cur->zero,
                                 cur->data, cur->offset));
    cur = n;
  }
  if (!cur) cur = MapEntry{};  // qemu-img prints one empty entry for a 0-byte image
  out.push_back(entry_string(cur->start, cur->length, cur->depth, cur->present, cur->zero,
                             cur->data, cur->offset));
  return out;
}

inline std::vector<std::string> qemu_map(const std::string& path, const std::string& fmt) {
  std::string cmd = "qemu-img map --output=json " + (fmt.empty() ? "" : "-f " + fmt + " ") + "'" + path + "'";
  int st = 0;
  std::string js = run(cmd, &st);
  std::vector<std::string> out;
  if (st != 0) {
    out.push_back("qemu-img failed");
    return out;
  }
  for (const auto& e : nlohmann::json::parse(js)) {
    std::optional<uint64_t> off;
    if (e.contains("offset")) off = e["offset"].get<uint64_t>();
    out.push_back(entry_string(e["start"], e["length"], e["depth"], e["present"], e["zero"],
                               e["data"], off));
  }
  return out;
}

}  // namespace dk::fmt::testing
