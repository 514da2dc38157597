// Directory-entry parsing, long names, short-name generation and times.
#include "fs/fat/dirent.h"

#include <ctime>
#include <cstring>

#include "formats/core/endian.h"

namespace dk::fs::fat {
namespace {

// Codepage 437, bytes 0x80..0xff, as Unicode (Linux's default codepage).
constexpr uint16_t kCp437High[128] = {
    0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7, 0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee,
    0x00ec, 0x00c4, 0x00c5, 0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9, 0x00ff, 0x00d6,
    0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192, 0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa,
    0x00ba, 0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb, 0x2591, 0x2592, 0x2593, 0x2502,
    0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510, 0x2514,
    0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f, 0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550,
    0x256c, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b, 0x256a, 0x2518, 0x250c,
    0x2588, 0x2584, 0x258c, 0x2590, 0x2580, 0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
    0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229, 0x2261, 0x00b1, 0x2265, 0x2264, 0x2320,
    0x2321, 0x00f7, 0x2248, 0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0};

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | cp >> 12);
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | cp >> 18);
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

uint32_t cp437_to_unicode(uint8_t c) { return c < 0x80 ? c : kCp437High[c - 0x80]; }

// UTF-16 up to the first NUL to UTF-8; unpaired surrogates become U+FFFD.
std::string utf16_to_utf8(const char16_t* u, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && u[i]; ++i) {
    uint32_t c = u[i];
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && u[i + 1] >= 0xdc00 && u[i + 1] < 0xe000) {
      c = 0x10000 + ((c - 0xd800) << 10) + (u[i + 1] - 0xdc00);
      ++i;
    } else if (c >= 0xd800 && c < 0xe000) {
      c = 0xfffd;
    }
    put_utf8(out, c);
  }
  return out;
}

// Offsets of the 13 UTF-16 units in a long-name slot.
constexpr size_t kLfnUnitOffsets[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};

struct NameInfo {
  bool valid = true, upper = true, lower = true;
};

bool skip_char(char16_t c) { return c == '.' || c == ' '; }
bool replace_char(char16_t c) { return c == '+' || c == ',' || c == ';' || c == '=' || c == '[' || c == ']'; }

// Linux's to_shortname_char for codepage 437: one byte (0: skipped).
int shortname_char(char16_t c, uint8_t& out, NameInfo& info) {
  if (skip_char(c)) {
    info.valid = false;
    return 0;
  }
  if (replace_char(c)) {
    info.valid = false;
    out = '_';
    return 1;
  }
  if (c >= 0x80) {
    // Upper-cased like codepage 437's table does: Latin-1 letters that have
    // an upper-case form in the codepage (é -> É, ñ -> Ñ; â stays).
    char16_t up = (c >= 0xe0 && c <= 0xfe && c != 0xf7) ? static_cast<char16_t>(c - 0x20) : c;
    int b = -1;
    for (int i = 0; i < 128; ++i)
      if (kCp437High[i] == up) b = 0x80 + i;
    for (int i = 0; i < 128 && b < 0; ++i)
      if (kCp437High[i] == c) b = 0x80 + i;
    if (b < 0) {
      info.valid = false;
      out = '_';
      return 1;
    }
    info.upper = info.lower = false;
    out = static_cast<uint8_t>(b);
    return 1;
  }
  if (c == 0x7f) info.upper = info.lower = false;
  uint8_t prev = static_cast<uint8_t>(c);
  out = (prev >= 'a' && prev <= 'z') ? static_cast<uint8_t>(prev - 32) : prev;
  if ((out >= 'A' && out <= 'Z')) {
    if (out == prev) info.lower = false;
    else info.upper = false;
  }
  return 1;
}

}  // namespace

ShortName RawEntry::name() const {
  ShortName n;
  std::memcpy(n.data(), b.data(), 11);
  return n;
}

uint32_t RawEntry::first_cluster(bool fat32) const {
  uint32_t c = load_le16(&b[26]);
  if (fat32) c |= uint32_t{load_le16(&b[20])} << 16;
  return c;
}

void RawEntry::set_first_cluster(uint32_t c) {
  store_le16(&b[26], static_cast<uint16_t>(c));
  store_le16(&b[20], static_cast<uint16_t>(c >> 16));
}

uint32_t RawEntry::DIR_FileSize() const { return load_le32(&b[28]); }
void RawEntry::set_size(uint32_t size) { store_le32(&b[28], size); }

uint8_t lfn_checksum(const ShortName& n) {
  uint8_t sum = 0;
  for (uint8_t c : n) sum = static_cast<uint8_t>(((sum & 1) << 7) + (sum >> 1) + c);
  return sum;
}

std::string short_display(const ShortName& n, uint8_t ntres) {
  ShortName w = n;
  if (w[0] == 0x05) w[0] = kDeleted;
  auto part = [&](size_t from, size_t to, bool lower) {
    std::string s;
    size_t end = from;
    for (size_t i = from; i < to && w[i]; ++i)
      if (w[i] != ' ') end = i + 1;
    for (size_t i = from; i < end && w[i]; ++i) {
      uint8_t c = w[i];
      if (lower && c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c + 32);
      put_utf8(s, cp437_to_unicode(c));
    }
    return s;
  };
  std::string base = part(0, 8, ntres & kCaseLowerBase);
  std::string ext = part(8, 11, ntres & kCaseLowerExt);
  return ext.empty() ? base : base + "." + ext;
}

std::vector<Parsed> parse_directory(std::span<const uint8_t> bytes) {
  std::vector<Parsed> out;
  char16_t units[kMaxLfnSlots * 13 + 1];
  bool lfn = false;      // a long name is being collected
  uint32_t expect = 0;   // slot number the next long-name entry must have (0: the short entry)
  uint8_t sum = 0;
  uint32_t start = 0;
  const uint32_t n = static_cast<uint32_t>(bytes.size() / kEntrySize);
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t* e = bytes.data() + size_t{i} * kEntrySize;
    if (e[0] == kDeleted || e[0] == 0) {
      lfn = false;
      continue;
    }
    if (e[11] == kAttrLfn) {
      uint32_t id = e[0] & ~0x40u;
      bool continues = lfn && expect > 0 && id == expect && e[13] == sum;
      if (!continues) {
        // A new sequence must start with the "last" flag and 1..20 slots.
        lfn = (e[0] & 0x40) && id >= 1 && id <= kMaxLfnSlots;
        if (!lfn) continue;
        sum = e[13];
        start = i;
        std::fill(std::begin(units), std::end(units), u'\0');
      }
      for (size_t k = 0; k < 13; ++k)
        units[(id - 1) * 13 + k] = static_cast<char16_t>(load_le16(e + kLfnUnitOffsets[k]));
      expect = id - 1;
      continue;
    }
    if (e[11] & kAttrVolume) {
      lfn = false;
      continue;
    }
    Parsed p;
    std::memcpy(p.raw.b.data(), e, kEntrySize);
    ShortName sn = p.raw.name();
    p.short_slot = i;
    p.first_slot = i;
    if (lfn && expect == 0 && lfn_checksum(sn) == sum) {
      p.name = utf16_to_utf8(units, kMaxLfnSlots * 13);
      p.first_slot = start;
    }
    lfn = false;
    if (p.name.empty()) p.name = short_display(sn, p.raw.DIR_NTRes());
    static const ShortName kDot = {'.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
    static const ShortName kDotDot = {'.', '.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
    p.dot = sn == kDot || sn == kDotDot;
    if (!p.dot && (p.name.empty() || p.name == "." || p.name == ".." ||
                   p.name.find('/') != std::string::npos || p.name.find('\0') != std::string::npos))
      continue;
    out.push_back(std::move(p));
  }
  return out;
}

std::string volume_label(std::span<const uint8_t> root) {
  for (size_t off = 0; off + kEntrySize <= root.size(); off += kEntrySize) {
    const uint8_t* e = root.data() + off;
    if (e[0] == 0) break;
    if (e[0] == kDeleted || e[11] == kAttrLfn || (e[11] & (kAttrVolume | kAttrDir)) != kAttrVolume) continue;
    std::string s;
    for (size_t i = 0; i < 11 && e[i]; ++i) {
      uint8_t c = (i == 0 && e[i] == 0x05) ? kDeleted : e[i];
      if (c >= 0x20 && c != 0x7f) put_utf8(s, cp437_to_unicode(c));
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }
  return {};
}

Result<std::u16string> long_name_units(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return make_error(EINVAL, std::strerror(EINVAL));
  std::u16string u;
  for (size_t i = 0; i < name.size();) {
    uint8_t c = static_cast<uint8_t>(name[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) cp = c, len = 1;
    else if ((c & 0xe0) == 0xc0) cp = c & 0x1f, len = 2;
    else if ((c & 0xf0) == 0xe0) cp = c & 0x0f, len = 3;
    else if ((c & 0xf8) == 0xf0) cp = c & 0x07, len = 4;
    else return make_error(EINVAL, "invalid UTF-8 in a file name");
    if (i + len > name.size()) return make_error(EINVAL, "invalid UTF-8 in a file name");
    for (size_t k = 1; k < len; ++k) {
      uint8_t d = static_cast<uint8_t>(name[i + k]);
      if ((d & 0xc0) != 0x80) return make_error(EINVAL, "invalid UTF-8 in a file name");
      cp = cp << 6 | (d & 0x3f);
    }
    i += len;
    if (cp < 0x20 || std::strchr("*?<>|\":/\\", static_cast<int>(cp < 0x80 ? cp : 1)) != nullptr ||
        (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
      return make_error(EINVAL, std::strerror(EINVAL));
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u += static_cast<char16_t>(0xd800 + (cp >> 10));
      u += static_cast<char16_t>(0xdc00 + (cp & 0x3ff));
    } else {
      u += static_cast<char16_t>(cp);
    }
  }
  if (u.size() > kMaxLfnUnits) return make_error(ENAMETOOLONG, std::strerror(ENAMETOOLONG));
  return u;
}

std::string fold_name(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string s(name);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return s;
}

Result<ShortChoice> make_short_name(const std::u16string& u,
                                    const std::function<bool(const ShortName&)>& taken) {
  const size_t ulen = u.size();
  // The extension starts after the last dot, unless only dots and spaces come before it.
  size_t sz = ulen;
  size_t ext_start = std::u16string::npos;
  size_t dot = u.rfind(u'.');
  if (dot != std::u16string::npos && dot != ulen - 1) {
    size_t k = 0;
    while (k < dot && skip_char(u[k])) ++k;
    if (k != dot) {
      sz = dot;
      ext_start = dot + 1;
    }
  }
  NameInfo base_info, ext_info;
  bool is_short = true;
  uint8_t base[8], ext[3];
  size_t baselen = 0, extlen = 0, numtail_baselen = 6, numtail2_baselen = 2;
  for (size_t i = 0; i < sz; ++i) {
    uint8_t c;
    int chi = shortname_char(u[i], c, base_info);
    if (chi == 0) continue;
    if (baselen < 2 && baselen + 1 > 2) numtail2_baselen = baselen;
    if (baselen < 6 && baselen + 1 > 6) numtail_baselen = baselen;
    base[baselen++] = c;
    if (baselen >= 8) {
      if (i + 1 != sz) is_short = false;
      break;
    }
  }
  if (baselen == 0) return make_error(EINVAL, std::strerror(EINVAL));
  if (ext_start != std::u16string::npos) {
    for (size_t i = ext_start; extlen < 3 && i < ulen; ++i) {
      uint8_t c;
      if (shortname_char(u[i], c, ext_info) == 0) continue;
      ext[extlen++] = c;
      if (extlen >= 3) {
        if (i + 1 != ulen) is_short = false;
        break;
      }
    }
  }
  ShortChoice r;
  r.name.fill(' ');
  std::memcpy(r.name.data(), base, baselen);
  std::memcpy(r.name.data() + 8, ext, extlen);
  if (r.name[0] == kDeleted) r.name[0] = 0x05;
  if (is_short && base_info.valid && ext_info.valid) {
    if (taken(r.name)) return make_error(EEXIST, std::strerror(EEXIST));
    if ((base_info.upper || base_info.lower) && (ext_info.upper || ext_info.lower)) {
      if (!base_info.upper && base_info.lower) r.ntres |= kCaseLowerBase;
      if (!ext_info.upper && ext_info.lower) r.ntres |= kCaseLowerExt;
      r.needs_lfn = false;
      return r;
    }
  }
  // Basis name with a numeric tail: NAME~1 .. NAME~9, then XXXX~N with a hex hash.
  if (baselen > 6) {
    baselen = numtail_baselen;
    r.name[7] = ' ';
  }
  r.name[baselen] = '~';
  for (int i = 1; i < 10; ++i) {
    r.name[baselen + 1] = static_cast<uint8_t>('0' + i);
    if (!taken(r.name)) return r;
  }
  uint32_t h = 0;
  for (char16_t c : u) h = h * 31 + c;
  if (baselen > 2) {
    baselen = numtail2_baselen;
    r.name[7] = ' ';
  }
  r.name[baselen + 4] = '~';
  r.name[baselen + 5] = static_cast<uint8_t>('1' + ((h >> 16) & 7));
  for (uint32_t tries = 0; tries < 0x10000; ++tries, h -= 11) {
    static const char kHex[] = "0123456789ABCDEF";
    for (int k = 0; k < 4; ++k) r.name[baselen + k] = static_cast<uint8_t>(kHex[(h >> (12 - 4 * k)) & 0xf]);
    if (!taken(r.name)) return r;
  }
  return make_error(ENOSPC, "no free short name");
}

std::vector<RawEntry> lfn_slots(const std::u16string& units, const ShortName& sn) {
  size_t count = (units.size() + 12) / 13;
  std::u16string padded = units;
  if (padded.size() % 13) {
    padded += u'\0';
    while (padded.size() % 13) padded += u'\xffff';
  }
  uint8_t sum = lfn_checksum(sn);
  std::vector<RawEntry> out;
  for (size_t k = count; k >= 1; --k) {
    RawEntry e;
    e.b[0] = static_cast<uint8_t>(k | (k == count ? 0x40 : 0));
    e.b[11] = kAttrLfn;
    e.b[13] = sum;
    for (size_t j = 0; j < 13; ++j) store_le16(&e.b[kLfnUnitOffsets[j]], padded[(k - 1) * 13 + j]);
    out.push_back(e);
  }
  return out;
}

Timespec fat_to_unix(uint16_t time, uint16_t date, uint8_t cs) {
  static const int64_t kDaysBefore[16] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 0, 0, 0};
  int64_t year = date >> 9;
  int64_t month = std::max(1, (date >> 5) & 0xf);
  int64_t day = std::max(1, date & 0x1f) - 1;
  int64_t leap = (year + 3) / 4;
  if (year > 120) --leap;  // 2100 is no leap year
  if (!(year & 3) && year != 120 && month > 2) ++leap;
  int64_t sec = (time & 0x1f) * 2 + ((time >> 5) & 0x3f) * 60 + (time >> 11) * 3600;
  sec += (year * 365 + leap + kDaysBefore[month] + day + 3652) * 86400;  // 3652: 1970 to 1980
  Timespec t;
  t.sec = sec;
  if (cs) {
    t.sec += cs / 100;
    t.nsec = (cs % 100) * 10000000u;
  }
  return t;
}

void unix_to_fat(const Timespec& t, uint16_t& time, uint16_t& date, uint8_t* cs) {
  time_t s = static_cast<time_t>(t.sec);
  struct tm tm {};
  if (t.sec < 315532800 || !gmtime_r(&s, &tm) || tm.tm_year < 80) {  // before 1980
    time = 0;
    date = (1 << 5) | 1;
    if (cs) *cs = 0;
    return;
  }
  if (tm.tm_year > 2107 - 1900) {
    time = (23 << 11) | (59 << 5) | 29;
    date = (127 << 9) | (12 << 5) | 31;
    if (cs) *cs = 199;
    return;
  }
  time = static_cast<uint16_t>(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec >> 1);
  date = static_cast<uint16_t>((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
  if (cs) *cs = static_cast<uint8_t>((t.sec & 1) * 100 + t.nsec / 10000000);
}

}  // namespace dk::fs::fat
