// Descriptor parsing is line based and tolerant like QEMU's (unknown lines
// are ignored) but strict where a value is used: numbers must parse, extent
// lines must be complete.
#include "formats/vmdk/descriptor.h"

#include <cctype>
#include <charconv>
#include <cinttypes>
#include <cstdio>

namespace dk::fmt::vmdk {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return std::string(v);
}

bool parse_hex32(std::string_view v, uint32_t& out) {
  v = trim(v);
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, 16);
  return ec == std::errc() && p == v.data() + v.size();
}

bool parse_u64(std::string_view v, uint64_t& out) {
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, 10);
  return ec == std::errc() && p == v.data() + v.size();
}

// "RW 4192256 SPARSE "name.vmdk" [offset]"
Result<ExtentLine> parse_extent(std::string_view line, const std::string& file) {
  auto bad = [&] {
    return make_error(EINVAL, "'" + file + "': invalid extent line: " + std::string(line));
  };
  ExtentLine e;
  std::string_view rest = line;
  auto word = [&]() {
    rest = trim(rest);
    size_t n = 0;
    while (n < rest.size() && !std::isspace(static_cast<unsigned char>(rest[n]))) ++n;
    std::string_view w = rest.substr(0, n);
    rest.remove_prefix(n);
    return w;
  };
  e.access = std::string(word());
  if (!parse_u64(word(), e.sectors) || e.sectors == 0) return bad();
  e.type = std::string(word());
  rest = trim(rest);
  if (rest.empty() || rest.front() != '"') {
    if (e.type == "ZERO" && rest.empty()) return e;
    return bad();
  }
  size_t close = rest.find('"', 1);
  if (close == std::string_view::npos || close == 1) return bad();
  e.filename = std::string(rest.substr(1, close - 1));
  rest = trim(rest.substr(close + 1));
  if (!rest.empty() && !parse_u64(word(), e.offset)) return bad();
  if ((e.type == "FLAT" || e.type == "VMFS") && e.offset > (UINT64_MAX >> 10)) return bad();
  return e;
}

}  // namespace

std::string Descriptor::ddb_value(std::string_view key) const {
  for (const auto& [k, v] : ddb)
    if (k == key) return v;
  return {};
}

Result<Descriptor> parse_descriptor(std::string_view text, const std::string& file) {
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
  Descriptor d;
  bool have_cid = false;
  while (!text.empty()) {
    size_t eol = text.find_first_of("\r\n");
    std::string_view line = trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = trim(line.substr(0, eq)), val = trim(line.substr(eq + 1));
      if (key == "CID") {
        if (!parse_hex32(val, d.cid)) return make_error(EINVAL, "'" + file + "': invalid CID");
        have_cid = true;
      } else if (key == "parentCID") {
        if (!parse_hex32(val, d.parent_cid)) return make_error(EINVAL, "'" + file + "': invalid parentCID");
      } else if (key == "createType") {
        d.create_type = unquote(val);
      } else if (key == "parentFileNameHint") {
        d.parent_hint = unquote(val);
      } else if (key == "version") {
        uint64_t v = 0;
        if (parse_u64(val, v) && v <= UINT32_MAX) d.version = static_cast<uint32_t>(v);
      } else if (key.substr(0, 4) == "ddb.") {
        d.ddb.emplace_back(std::string(key), unquote(val));
      }
      continue;
    }
    // Extent lines start with an access mode; anything else is ignored.
    if (line.starts_with("RW ") || line.starts_with("RDONLY ") || line.starts_with("NOACCESS ")) {
      if (d.extents.size() >= 4096) return make_error(EINVAL, "'" + file + "': too many extents");
      d.extents.push_back(DK_TRY(parse_extent(line, file)));
    }
  }
  if (!have_cid) d.cid = 0;
  return d;
}

std::string format_descriptor(const DescriptorParams& p) {
  char num[64];
  std::string s = "# Disk DescriptorFile\nversion=1\n";
  std::snprintf(num, sizeof num, "CID=%" PRIx32 "\nparentCID=%" PRIx32 "\n", p.cid, p.parent_cid);
  s += num;
  s += "createType=\"" + p.create_type + "\"\n";
  // QEMU's template puts the hint line directly before the blank line.
  if (!p.parent_hint.empty()) s += "parentFileNameHint=\"" + p.parent_hint + "\"";
  s += "\n# Extent description\n";
  for (const ExtentLine& e : p.extents) {
    s += e.access + " " + std::to_string(e.sectors) + " " + e.type + " \"" + e.filename + "\"";
    if (e.type == "FLAT") s += " " + std::to_string(e.offset);
    s += "\n";
  }
  s += "\n# The Disk Data Base\n#DDB\n\n";
  s += "ddb.virtualHWVersion = \"" + p.hw_version + "\"\n";
  s += "ddb.geometry.cylinders = \"" + std::to_string(p.cylinders) + "\"\n";
  s += "ddb.geometry.heads = \"" + std::to_string(p.heads) + "\"\n";
  s += "ddb.geometry.sectors = \"63\"\n";
  s += "ddb.adapterType = \"" + p.adapter_type + "\"\n";
  s += "ddb.toolsVersion = \"" + p.tools_version + "\"\n";
  return s;
}

}  // namespace dk::fmt::vmdk
