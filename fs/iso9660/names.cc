// File names: plain ISO 9660 identifiers mapped as Linux's isofs
// map=normal does, and Joliet UCS-2 identifiers converted to UTF-8.
#include "fs/iso9660/format.h"

namespace dk::fs::iso {
namespace {

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

std::string plain_name(std::span<const uint8_t> id) {
  std::string out;
  const size_t len = id.size();
  for (size_t i = 0; i < len; ++i) {
    uint8_t c = id[i];
    if (c == 0) break;
    if (c >= 'A' && c <= 'Z') c |= 0x20;
    // "NAME.;1": the period ECMA-119 7.5.1 requires goes with the version.
    if (c == '.' && i + 3 == len && id[i + 1] == ';' && id[i + 2] == '1') break;
    if (c == ';' && i + 2 == len && id[i + 1] == '1') break;
    if (c == ';' || c == '/') c = '.';
    out += static_cast<char>(c);
  }
  return out;
}

std::string utf16be_to_utf8(std::span<const uint8_t> s) {
  std::string out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    uint32_t u = (uint32_t{s[i]} << 8) | s[i + 1];
    if (u == 0) break;
    if (u >= 0xd800 && u <= 0xdbff && i + 3 < s.size()) {
      uint32_t lo = (uint32_t{s[i + 2]} << 8) | s[i + 3];
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        put_utf8(out, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
        i += 2;
        continue;
      }
    }
    if (u >= 0xd800 && u <= 0xdfff) u = 0xfffd;
    put_utf8(out, u);
  }
  return out;
}

std::string joliet_name(std::span<const uint8_t> id) {
  std::string out = utf16be_to_utf8(id);
  if (out.size() > 2 && out[out.size() - 2] == ';' && out.back() == '1') out.resize(out.size() - 2);
  // Linux drops trailing periods too (Windows does not show them either).
  while (out.size() >= 2 && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace dk::fs::iso
