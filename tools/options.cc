#include "tools/options.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace dk::tools {

Result<uint64_t> parse_size(std::string_view text, std::string_view what) {
  std::string s(text);
  auto bad = [&] {
    return make_error(EINVAL, "invalid " + std::string(what) + " '" + s +
                                  "': expected a number with an optional suffix k, M, G, T, P or E");
  };
  if (s.empty() || s[0] == '-' || std::isspace(static_cast<unsigned char>(s[0]))) return bad();
  errno = 0;
  char* end = nullptr;
  unsigned long long whole = std::strtoull(s.c_str(), &end, 10);
  if (end == s.c_str() || errno) return bad();
  double frac = 0;
  const char* p = end;
  if (*p == '.') {
    char* fend = nullptr;
    frac = std::strtod(p, &fend);
    p = fend;
  }
  uint64_t mult = 1;
  if (*p) {
    switch (std::toupper(static_cast<unsigned char>(*p))) {
      case 'B': mult = 1; break;
      case 'K': mult = 1ull << 10; break;
      case 'M': mult = 1ull << 20; break;
      case 'G': mult = 1ull << 30; break;
      case 'T': mult = 1ull << 40; break;
      case 'P': mult = 1ull << 50; break;
      case 'E': mult = 1ull << 60; break;
      default: return bad();
    }
    ++p;
  }
  if (*p) return bad();
  if (frac != 0 && mult == 1) return bad();  // QEMU refuses fractional bytes
  long double v = static_cast<long double>(whole) * mult + static_cast<long double>(frac) * mult;
  if (v > static_cast<long double>(INT64_MAX))
    return make_error(ERANGE, std::string(what) + " '" + s + "' is too large");
  return static_cast<uint64_t>(v);
}

Result<std::map<std::string, std::string>> parse_option_string(std::string_view text) {
  std::map<std::string, std::string> out;
  std::string cur;
  std::vector<std::string> parts;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ',') {
      if (i + 1 < text.size() && text[i + 1] == ',') {
        cur += ',';
        ++i;
        continue;
      }
      parts.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur += text[i];
  }
  parts.push_back(std::move(cur));
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == 0) return make_error(EINVAL, "invalid option '" + part + "'");
    if (eq == std::string::npos)
      out[part] = "on";
    else
      out[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return out;
}

bool is_help_option(std::string_view text) {
  return text == "help" || text == "?" || text.starts_with("help,") || text.ends_with(",help");
}

Result<bool> parse_bool_option(std::string_view key, std::string_view value) {
  if (value == "on" || value == "yes" || value == "true") return true;
  if (value == "off" || value == "no" || value == "false") return false;
  return make_error(EINVAL, "parameter '" + std::string(key) + "' expects 'on' or 'off'");
}

}  // namespace dk::tools
