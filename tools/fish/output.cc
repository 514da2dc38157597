#include "tools/fish/output.h"

#include <cinttypes>
#include <cstdio>

namespace dk::tools::fish {

void print_strings(const std::vector<std::string>& v) {
  for (const std::string& s : v) std::printf("%s\n", s.c_str());
}

void print_table(const std::vector<std::pair<std::string, std::string>>& kv) {
  for (const auto& [k, v] : kv) std::printf("%s: %s\n", k.c_str(), v.c_str());
}

void print_bool(bool b) { std::printf("%s\n", b ? "true" : "false"); }

void print_int(int64_t v) { std::printf("%" PRId64 "\n", v); }

void print_string(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}

Result<void> print_buffer(const std::string& s) {
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) return errno_error("write");
  return {};
}

void print_struct(const Fields& f, const char* indent) {
  for (const auto& [k, v] : f) std::printf("%s%s: %s\n", indent, k.c_str(), v.c_str());
}

void print_struct_list(const std::vector<Fields>& list) {
  for (size_t i = 0; i < list.size(); ++i) {
    std::printf("[%zu] = {\n", i);
    print_struct(list[i], "  ");
    std::printf("}\n");
  }
}

std::string hexdump_c(const std::string& data) {
  std::string out;
  char buf[128];
  bool starred = false;
  for (size_t off = 0; off < data.size(); off += 16) {
    size_t n = std::min<size_t>(16, data.size() - off);
    if (off > 0 && n == 16 && data.compare(off, 16, data, off - 16, 16) == 0) {
      if (!starred) out += "*\n";
      starred = true;
      continue;
    }
    starred = false;
    std::snprintf(buf, sizeof buf, "%08zx ", off);
    out += buf;
    for (size_t i = 0; i < 16; ++i) {
      if (i == 8) out += ' ';
      if (i < n) {
        std::snprintf(buf, sizeof buf, " %02x", static_cast<unsigned char>(data[off + i]));
        out += buf;
      } else {
        out += "   ";
      }
    }
    out += "  |";
    for (size_t i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(data[off + i]);
      out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
    }
    out += "|\n";
  }
  if (!data.empty()) {
    std::snprintf(buf, sizeof buf, "%08zx\n", data.size());
    out += buf;
  }
  return out;
}

std::string human_ceiling(uint64_t bytes) {
  static const char kUnits[] = "KMGTPEZY";
  if (bytes < 1024) return std::to_string(bytes);
  // Exact integer arithmetic: value = bytes / 1024^(e+1), shown with one
  // decimal below 10, rounded up as coreutils df does.
  unsigned __int128 div = 1024;
  int e = 0;
  while (bytes / div >= 1024 && e < 7) {
    div *= 1024;
    ++e;
  }
  char buf[32];
  unsigned __int128 tenths = (static_cast<unsigned __int128>(bytes) * 10 + div - 1) / div;
  if (tenths < 100) {
    std::snprintf(buf, sizeof buf, "%u.%u%c", static_cast<unsigned>(tenths / 10), static_cast<unsigned>(tenths % 10),
                  kUnits[e]);
    return buf;
  }
  unsigned __int128 whole = (bytes + div - 1) / div;
  if (whole >= 1024 && e < 7) {
    std::snprintf(buf, sizeof buf, "1.0%c", kUnits[e + 1]);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%u%c", static_cast<unsigned>(whole), kUnits[e]);
  return buf;
}

}  // namespace dk::tools::fish
