// Text parsers of inspection (see parse.h). Behaviour follows libguestfs
// 1.48's daemon/inspect_fs_unix*.ml and lib/inspect-apps.c; its regular
// expressions are matched by hand here so that a hostile multi-megabyte
// line cannot make a backtracking matcher recurse or take quadratic time.
#include "fs/inspect/parse.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "formats/core/endian.h"

namespace dk::fs::inspect {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A whole string of decimal digits as an int (libguestfs'
// parse_unsigned_int); nullopt when empty, not digits or too large.
std::optional<int> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  long long v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
    if (v > INT_MAX) return std::nullopt;
  }
  return static_cast<int>(v);
}

// The digit run starting at s[i] (maximal), or empty.
std::string_view digits_at(std::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && is_digit(s[j])) ++j;
  return s.substr(i, j - i);
}

// "(\d+)\.(\d+)" anchored at i: (major, minor, end) on success.
struct MajorMinorAt {
  int major = 0, minor = 0;
  size_t end = 0;
};
std::optional<MajorMinorAt> major_minor_at(std::string_view s, size_t i) {
  auto a = digits_at(s, i);
  if (a.empty() || i + a.size() >= s.size() || s[i + a.size()] != '.') return std::nullopt;
  auto b = digits_at(s, i + a.size() + 1);
  if (b.empty()) return std::nullopt;
  auto ma = parse_uint(a), mi = parse_uint(b);
  if (!ma || !mi) return std::nullopt;
  return MajorMinorAt{*ma, *mi, i + a.size() + 1 + b.size()};
}

// The last position >= from where `word` followed by a digit occurs (the
// greedy ".*word(\d+)" of a regular expression), or npos.
size_t last_word_digit(std::string_view s, size_t from, std::string_view word) {
  size_t best = std::string_view::npos;
  for (size_t p = s.find(word, from); p != std::string_view::npos; p = s.find(word, p + 1))
    if (p + word.size() < s.size() && is_digit(s[p + word.size()])) best = p;
  return best;
}

std::string decode_octal_escapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto oct = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '7'; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && oct(i + 1) && oct(i + 2) && oct(i + 3)) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out += static_cast<char>(v & 0xff);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// os-release ID -> libguestfs distro name (distro_of_os_release_id).
std::optional<std::string> distro_of_os_release_id(std::string_view id) {
  static const std::pair<const char*, const char*> kIds[] = {
      {"alpine", "alpinelinux"}, {"altlinux", "altlinux"}, {"arch", "archlinux"},
      {"centos", "centos"},      {"coreos", "coreos"},     {"debian", "debian"},
      {"fedora", "fedora"},      {"frugalware", "frugalware"}, {"gentoo", "gentoo"},
      {"kali", "kalilinux"},     {"kylin", "kylin"},       {"mageia", "mageia"},
      {"neokylin", "neokylin"},  {"openmandriva", "openmandriva"}, {"opensuse", "opensuse"},
      {"pardus", "pardus"},      {"pld", "pldlinux"},      {"rhel", "rhel"},
      {"rocky", "rocky"},        {"sles", "sles"},         {"sled", "sles"},
      {"ubuntu", "ubuntu"},      {"void", "voidlinux"},
  };
  for (auto& [k, v] : kIds)
    if (id == k) return std::string(v);
  if (starts_with(id, "opensuse-")) return std::string("opensuse");
  return std::nullopt;
}

}  // namespace

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (;;) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      return lines;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
}

std::string_view first_line(std::string_view text) { return text.substr(0, text.find('\n')); }

std::string shell_unquote(std::string_view s) {
  size_t n = s.size();
  if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'') return std::string(s.substr(1, n - 2));
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
    std::string out;
    for (size_t i = 1; i < n - 1; ++i) {
      if (i < n - 2 && s[i] == '\\' && std::strchr("$`\"\\\n", s[i + 1]) && s[i + 1] != '\0') ++i;
      out += s[i];
    }
    return out;
  }
  return std::string(s);
}

std::string simple_unquote(std::string_view s) {
  size_t n = s.size();
  if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\'')))
    return std::string(s.substr(1, n - 2));
  return std::string(s);
}

std::vector<std::pair<std::string, std::string>> parse_key_values(std::string_view text,
                                                                  bool shell_quotes) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view line : split_lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view v = line.substr(eq + 1);
    out.emplace_back(std::string(line.substr(0, eq)), shell_quotes ? shell_unquote(v) : simple_unquote(v));
  }
  return out;
}

std::optional<std::pair<int, int>> version_from_major_minor(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (!is_digit(s[i])) {
      ++i;
      continue;
    }
    if (auto m = major_minor_at(s, i)) return std::pair{m->major, m->minor};
    i += digits_at(s, i).size();  // a later start inside this run cannot match either
  }
  for (size_t i = 0; i < s.size(); ++i)
    if (is_digit(s[i])) {
      if (auto v = parse_uint(digits_at(s, i))) return std::pair{*v, 0};
      return std::nullopt;
    }
  return std::nullopt;
}

bool parse_os_release(std::string_view text, ReleaseData& d) {
  for (auto& [key, value] : parse_key_values(text, true)) {
    if (key == "ID") {
      if (auto distro = distro_of_os_release_id(value)) d.distro = *distro;
    } else if (key == "PRETTY_NAME") {
      d.product_name = value;
    } else if (key == "VERSION_ID") {
      // NeoKylin's "V7Update6" first, as libguestfs does.
      std::string_view v = value;
      auto upd = v.find("Update");
      if (v.size() > 1 && v[0] == 'V' && upd != std::string_view::npos &&
          digits_at(v, 1).size() == upd - 1 && !digits_at(v, upd + 6).empty() &&
          digits_at(v, upd + 6).size() == v.size() - upd - 6) {
        auto ma = parse_uint(v.substr(1, upd - 1)), mi = parse_uint(v.substr(upd + 6));
        if (ma && mi) d.version = std::pair{*ma, *mi};
      } else if (auto ver = version_from_major_minor(v)) {
        d.version = ver;
      }
    }
  }
  if (!d.distro || !d.product_name) return false;
  // Debian's and CentOS' VERSION_ID has no minor: the release files say more.
  if ((*d.distro == "debian" || *d.distro == "centos" || *d.distro == "rocky") && d.version &&
      d.version->second == 0)
    return false;
  if (!d.version) {
    if (*d.distro == "archlinux" || *d.distro == "gentoo" || *d.distro == "voidlinux") {
      d.version = std::pair{0, 0};  // rolling distributions
      return true;
    }
    return false;
  }
  return true;
}

bool parse_lsb_release(std::string_view text, ReleaseData& d) {
  bool ok = false;
  for (auto& [key, value] : parse_key_values(text, false)) {
    if (key == "DISTRIB_ID") {
      const char* distro = value == "CoreOS"      ? "coreos"
                           : value == "LinuxMint" ? "linuxmint"
                           : value == "Mageia"    ? "mageia"
                           : value == "Ubuntu"    ? "ubuntu"
                                                  : nullptr;
      if (distro) {
        ok = true;
        d.distro = distro;
      }
    } else if (key == "DISTRIB_RELEASE") {
      if (auto v = version_from_major_minor(value)) d.version = v;
    } else if (key == "DISTRIB_DESCRIPTION") {
      ok = true;
      d.product_name = value;
    }
  }
  return ok;
}

bool parse_suse_release(std::string_view text, ReleaseData& d) {
  auto lines = split_lines(text);
  if (text.empty()) return false;
  std::string_view product = lines[0];
  d.product_name = std::string(product);
  bool sles = starts_with(product, "SUSE Linux Enterprise ") ||
              starts_with(product, "SUSE LINUX Enterprise ") ||
              starts_with(product, "Novell Linux Desktop ");
  if (sles) {
    auto num_after = [&](size_t i, std::string_view prefix) -> std::optional<int> {
      if (lines.size() <= i || !starts_with(lines[i], prefix)) return std::nullopt;
      auto dg = digits_at(lines[i], prefix.size());
      return dg.empty() ? std::nullopt : parse_uint(dg);
    };
    auto major = num_after(1, "VERSION = "), minor = num_after(2, "PATCHLEVEL = ");
    d.distro = "sles";
    if (major) d.version = std::pair{*major, minor.value_or(0)};
    else d.version.reset();
  } else if (starts_with(product, "openSUSE ") || starts_with(product, "SuSE Linux ") ||
             starts_with(product, "SUSE LINUX ")) {
    if (lines.size() >= 2)
      if (auto v = version_from_major_minor(lines[1])) d.version = v;
    d.distro = "opensuse";
  }
  return true;
}

bool parse_generic_release(std::string_view line, const std::string& distro, ReleasePattern pattern,
                           std::string_view prefix, ReleaseData& d) {
  if (line.empty()) return false;
  d.product_name = std::string(line);
  d.distro = distro;
  std::optional<std::pair<int, int>> v;
  bool matched = false;
  switch (pattern) {
    case ReleasePattern::None:
      if (auto ver = version_from_major_minor(line)) d.version = ver;
      return true;
    case ReleasePattern::Fedora: {
      constexpr std::string_view kWord = "Fedora release ";
      for (size_t p = line.find(kWord); p != std::string_view::npos; p = line.find(kWord, p + 1)) {
        auto dg = digits_at(line, p + kWord.size());
        if (dg.empty()) continue;
        matched = true;
        if (auto ma = parse_uint(dg)) v = std::pair{*ma, 0};
        break;
      }
      break;
    }
    case ReleasePattern::Old:
    case ReleasePattern::MajorMinor:
    case ReleasePattern::MajorOnly: {
      size_t p = line.find(prefix);
      if (p == std::string_view::npos) break;
      size_t from = p + prefix.size();
      constexpr std::string_view kRel = "release ";
      if (pattern == ReleasePattern::MajorOnly) {
        size_t r = last_word_digit(line, from, kRel);
        if (r == std::string_view::npos) break;
        matched = true;
        if (auto ma = parse_uint(digits_at(line, r + kRel.size()))) v = std::pair{*ma, 0};
      } else if (pattern == ReleasePattern::MajorMinor) {
        // Greedy ".*": the last "release N.M".
        for (size_t r = line.find(kRel, from); r != std::string_view::npos; r = line.find(kRel, r + 1))
          if (auto m = major_minor_at(line, r + kRel.size())) {
            matched = true;
            v = std::pair{m->major, m->minor};
          }
      } else {
        // "release (\d+).*Update (\d+)": the last "Update N", then the last
        // "release N" before it.
        size_t u = last_word_digit(line, from, "Update ");
        if (u == std::string_view::npos) break;
        size_t r = last_word_digit(line.substr(0, u), from, kRel);
        if (r == std::string_view::npos) break;
        matched = true;
        auto ma = parse_uint(digits_at(line, r + kRel.size()));
        auto mi = parse_uint(digits_at(line, u + 7));
        if (ma && mi) v = std::pair{*ma, *mi};
      }
      break;
    }
    case ReleasePattern::Frugalware: {
      constexpr std::string_view kWord = "Frugalware ";
      for (size_t p = line.find(kWord); p != std::string_view::npos && !matched; p = line.find(kWord, p + 1))
        if (auto m = major_minor_at(line, p + kWord.size())) {
          matched = true;
          v = std::pair{m->major, m->minor};
        }
      break;
    }
    case ReleasePattern::Pld: {
      constexpr std::string_view kWord = " PLD Linux";
      for (size_t p = line.find(kWord); p != std::string_view::npos && !matched; p = line.find(kWord, p + 1)) {
        // Digits '.' digits ending right before p.
        size_t e = p, b = e;
        while (b > 0 && is_digit(line[b - 1])) --b;
        if (b == e || b == 0 || line[b - 1] != '.') continue;
        size_t e2 = b - 1, b2 = e2;
        while (b2 > 0 && is_digit(line[b2 - 1])) --b2;
        if (b2 == e2) continue;
        matched = true;
        auto ma = parse_uint(line.substr(b2, e2 - b2)), mi = parse_uint(line.substr(b, e - b));
        if (ma && mi) v = std::pair{*ma, *mi};
      }
      break;
    }
  }
  if (!matched) return false;
  if (v) d.version = v;
  return true;
}

std::optional<std::string> parse_hostname_file(std::string_view text) {
  for (std::string_view line : split_lines(text))
    if (!line.empty() && line[0] != '#') return std::string(line);
  return std::nullopt;
}

std::optional<std::string> parse_sysconfig_hostname(std::string_view text) {
  std::optional<std::string> out;
  for (auto& [k, v] : parse_key_values(text, true))
    if (k == "HOSTNAME" && !v.empty()) out = v;  // Augeas keeps the last one
  return out;
}

std::vector<FstabEntry> parse_fstab(std::string_view text) {
  std::vector<FstabEntry> out;
  for (std::string_view line : split_lines(text)) {
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < line.size() && f.size() < 4) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      if (i >= line.size() || line[i] == '#') break;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      f.push_back(line.substr(i, j - i));
      i = j;
    }
    if (f.size() < 3) continue;
    out.push_back({decode_octal_escapes(f[0]), decode_octal_escapes(f[1]), std::string(f[2]),
                   f.size() > 3 ? std::string(f[3]) : std::string()});
  }
  return out;
}

std::string canonical_path(std::string_view path) {
  std::string out = !path.empty() && path[0] == '/' ? "/" : "";
  size_t i = 0;
  bool first = true;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) {
      if (!first) out += '/';
      out += path.substr(i, j - i);
      first = false;
    }
    i = j + 1;
  }
  return out;
}

namespace {

// "[epoch:]version[-release]": epoch at the first ':', release after the
// `last_dash` (dpkg: last '-'; pacman/apk as libguestfs: first '-').
// False when the epoch is not a number.
bool split_version(std::string_view v, bool last_dash, Application& app) {
  size_t colon = v.find(':');
  app.epoch = 0;
  if (colon != std::string_view::npos) {
    auto e = parse_uint(v.substr(0, colon));
    if (!e) return false;
    app.epoch = *e;
    v = v.substr(colon + 1);
  }
  size_t dash = last_dash ? v.rfind('-') : v.find('-');
  app.release.clear();
  if (dash != std::string_view::npos) {
    app.release = std::string(v.substr(dash + 1));
    v = v.substr(0, dash);
  }
  app.version = std::string(v);
  return true;
}

}  // namespace

std::vector<Application> parse_dpkg_status(std::string_view text) {
  std::vector<Application> apps;
  Application cur;
  bool installed = false, have_version = false, version_ok = false;
  bool in_description = false, description_started = false;
  auto flush = [&] {
    if (installed && !cur.name.empty() && have_version && version_ok) apps.push_back(cur);
    cur = Application{};
    installed = have_version = version_ok = in_description = false;
  };
  auto value = [](std::string_view line, std::string_view key) { return line.substr(key.size()); };
  for (std::string_view line : split_lines(text)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (in_description) {
        if (description_started) cur.description += '\n';
        cur.description += line.substr(1);
        description_started = true;
      }
      continue;
    }
    in_description = false;
    if (line.empty()) {
      flush();
    } else if (starts_with(line, "Package: ")) {
      cur.name = std::string(value(line, "Package: "));
    } else if (starts_with(line, "Status: ")) {
      // "want flag state": only the state word counts.
      std::string_view st = value(line, "Status: ");
      size_t sp = st.rfind(' ');
      installed = (sp == std::string_view::npos ? st : st.substr(sp + 1)) == "installed";
    } else if (starts_with(line, "Version: ")) {
      have_version = true;
      version_ok = split_version(value(line, "Version: "), true, cur);
    } else if (starts_with(line, "Architecture: ")) {
      cur.arch = std::string(value(line, "Architecture: "));
    } else if (starts_with(line, "Homepage: ")) {
      cur.url = std::string(value(line, "Homepage: "));
    } else if (starts_with(line, "Source: ")) {
      std::string_view s = value(line, "Source: ");
      cur.source_package = std::string(s.substr(0, s.find(' ')));
    } else if (starts_with(line, "Description: ")) {
      cur.summary = std::string(value(line, "Description: "));
      cur.description.clear();
      in_description = true;
      description_started = false;
    }
  }
  flush();  // a status file without the final blank line
  return apps;
}

std::optional<Application> parse_pacman_desc(std::string_view text) {
  std::optional<std::string> name, version, desc, url, arch;
  std::optional<std::string>* key = nullptr;
  for (std::string_view line : split_lines(text)) {
    if (line.empty()) {
      key = nullptr;
      continue;
    }
    if (key) {
      *key = std::string(line);
      key = nullptr;
      continue;
    }
    if (line == "%NAME%") key = &name;
    else if (line == "%VERSION%") key = &version;
    else if (line == "%DESC%") key = &desc;
    else if (line == "%URL%") key = &url;
    else if (line == "%ARCH%") key = &arch;
  }
  if (!name || !version || !arch) return std::nullopt;
  Application app;
  app.name = *name;
  app.arch = *arch;
  app.url = url.value_or("");
  app.description = desc.value_or("");
  if (!split_version(*version, false, app)) return std::nullopt;
  if (app.version.empty() || app.release.empty()) return std::nullopt;
  return app;
}

std::vector<Application> parse_apk_installed(std::string_view text) {
  std::vector<Application> apps;
  Application cur;
  bool version_ok = true, have_version = false;
  for (std::string_view line : split_lines(text)) {
    if (line.size() > 1 && line[1] != ':') continue;
    char tag = line.empty() ? '\0' : line[0];
    std::string_view v = line.size() > 2 ? line.substr(2) : std::string_view();
    switch (tag) {
      case '\0':
        if (!cur.name.empty() && have_version && version_ok) apps.push_back(cur);
        cur = Application{};
        version_ok = true;
        have_version = false;
        break;
      case 'A': cur.arch = std::string(v); break;
      case 'P': cur.name = std::string(v); break;
      case 'T': cur.description = std::string(v); break;
      case 'U': cur.url = std::string(v); break;
      case 'V':
        have_version = true;
        version_ok = split_version(v, false, cur);
        // apk revisions are "rN": libguestfs drops the 'r'.
        if (!cur.release.empty() && cur.release[0] == 'r') cur.release.erase(0, 1);
        break;
      default: break;
    }
  }
  return apps;
}

std::string elf_arch(std::span<const std::byte> head) {
  if (head.size() < 20) return {};
  auto b = [&](size_t i) { return static_cast<uint8_t>(head[i]); };
  if (b(0) != 0x7f || b(1) != 'E' || b(2) != 'L' || b(3) != 'F') return {};
  int cls = b(4);     // 1: 32-bit, 2: 64-bit
  int data = b(5);    // 1: little endian, 2: big endian
  if ((cls != 1 && cls != 2) || (data != 1 && data != 2)) return {};
  auto u16 = [&](size_t i) -> unsigned {
    return data == 1 ? load_le16(head.data() + i) : load_be16(head.data() + i);
  };
  unsigned type = u16(16), machine = u16(18);
  if (type < 1 || type > 3) return {};  // relocatable, executable, shared object only
  bool is64 = cls == 2;
  switch (machine) {
    case 3: case 6: return "i386";
    case 62: return "x86_64";
    case 2: case 18: return "sparc";
    case 43: return "sparc64";
    case 50: return "ia64";
    case 21: return data == 2 ? "ppc64" : "ppc64le";
    case 20: return "ppc";
    case 183: return "aarch64";
    case 40: return "arm";
    case 243: return is64 ? "riscv64" : "riscv32";
    case 22: return is64 ? "s390x" : "s390";
    case 8: return "MIPS";
    case 258: return "LoongArch";
    default: return {};
  }
}

}  // namespace dk::fs::inspect
