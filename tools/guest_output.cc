#include "tools/guest_output.h"

#include <cmath>
#include <cstdio>

namespace dk::tools {

std::string human_size(uint64_t bytes) {
  static const char kUnits[] = "KMGTPEZY";
  if (bytes < 1024) return std::to_string(bytes);
  double amt = static_cast<double>(bytes);
  int e = -1;
  while (amt >= 1024 && e < 7) {
    amt /= 1024;
    ++e;
  }
  char buf[32];
  if (amt < 10) {
    double r = std::round(amt * 10) / 10;
    if (r < 10) {
      std::snprintf(buf, sizeof buf, "%.1f%c", r, kUnits[e]);
      return buf;
    }
    amt = r;
  }
  double r = std::round(amt);
  if (r >= 1024 && e < 7) {
    std::snprintf(buf, sizeof buf, "1.0%c", kUnits[e + 1]);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.0f%c", r, kUnits[e]);
  return buf;
}

std::string format_columns(const std::vector<std::vector<std::optional<std::string>>>& rows) {
  size_t ncols = 0;
  for (auto& r : rows) ncols = std::max(ncols, r.size());
  std::vector<size_t> width(ncols, 0);
  for (auto& r : rows)
    for (size_t j = 0; j < r.size(); ++j)
      if (r[j]) width[j] = std::max(width[j], std::max<size_t>(r[j]->size(), 1));
  size_t total = 0;
  for (size_t w : width) total += w + 2;
  size_t gap = total > 72 ? 1 : 2;
  std::string out;
  for (auto& r : rows) {
    size_t pad = 0;
    for (size_t j = 0; j < ncols; ++j) {
      if (width[j] == 0) continue;
      out.append(pad, ' ');
      std::string cell = j < r.size() && r[j] && !r[j]->empty() ? *r[j] : "-";
      out += cell;
      pad = width[j] - cell.size() + gap;
    }
    out += '\n';
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(" \"\n,") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace dk::tools
