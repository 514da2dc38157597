// System Use Sharing Protocol (SUSP 1.12) entries and the Rock Ridge
// Interchange Protocol (RRIP 1.12) fields Linux's isofs reads: PX, PN, SL,
// NM, CL, RE, TF (plus SP, ER, CE, ST of SUSP and ZF to refuse).
#include <sys/sysmacros.h>

#include "formats/core/checked_math.h"
#include "fs/iso9660/iso_internal.h"

namespace dk::fs::iso {
namespace {

constexpr uint16_t sig(char a, char b) { return static_cast<uint16_t>((uint8_t(a) << 8) | uint8_t(b)); }

// SL component flags (RRIP 4.1.3.1).
constexpr uint8_t kSlContinue = 0x01, kSlCurrent = 0x02, kSlParent = 0x04, kSlRoot = 0x08;

struct State {
  Rock rock;
  bool link_sep = false;  // the next SL component starts a new path component
  bool ce = false;
  uint32_t ce_block = 0, ce_offset = 0, ce_length = 0;
};

void add_link_components(State& s, std::span<const uint8_t> e) {
  if (!s.rock.link) s.rock.link.emplace();
  std::string& link = *s.rock.link;
  size_t i = 5;  // after the header and the SL flags byte
  while (i + 2 <= e.size()) {
    uint8_t flags = e[i];
    size_t len = e[i + 1];
    if (i + 2 + len > e.size()) break;  // a component running past its entry: ignore the rest
    std::string_view text(reinterpret_cast<const char*>(e.data() + i + 2), len);
    i += 2 + len;
    if (flags & kSlRoot) {
      if (link.empty() || link.back() != '/') link += '/';
      s.link_sep = false;
      continue;
    }
    if (flags & kSlCurrent) text = ".";
    else if (flags & kSlParent) text = "..";
    if (link.size() + text.size() + 1 > kMaxPathLength) {
      s.rock.link_too_long = true;
      return;
    }
    if (s.link_sep) link += '/';
    link.append(text);
    s.link_sep = !(flags & kSlContinue);
  }
}

void add_name(State& s, std::span<const uint8_t> e) {
  if (e.size() < 5) return;
  // CURRENT/PARENT names are "." and ".."; Linux ignores NM with such flags.
  if (e[4] & ~0x01) return;
  if (!s.rock.name) s.rock.name.emplace();
  std::string& name = *s.rock.name;
  std::string_view part(reinterpret_cast<const char*>(e.data() + 5), e.size() - 5);
  if (name.size() + part.size() > kMaxNameLength) {
    s.rock.name_truncated = true;
    part = part.substr(0, kMaxNameLength - std::min(name.size(), kMaxNameLength));
  }
  name.append(part);
}

void add_times(State& s, std::span<const uint8_t> e) {
  if (e.size() < 5) return;
  uint8_t flags = e[4];
  const size_t width = (flags & 0x80) ? 17 : 7;  // LONG_FORM
  size_t at = 5;
  auto next = [&]() -> std::optional<Timespec> {
    if (at + width > e.size()) return std::nullopt;
    const uint8_t* p = e.data() + at;
    at += width;
    return width == 17 ? long_time(p) : std::optional<Timespec>(record_time(p));
  };
  // Order of the stamps (RRIP 4.1.6): creation, modify, access, attributes.
  if (flags & 0x01) s.rock.crtime = next();
  if (flags & 0x02) s.rock.mtime = next();
  if (flags & 0x04) s.rock.atime = next();
  if (flags & 0x08) s.rock.ctime = next();
}

// One System Use area: entries until ST, the end, or a malformed length.
void parse_area(State& s, std::span<const uint8_t> area, bool root_dot) {
  size_t i = 0;
  bool first = true;
  while (i + 4 <= area.size()) {
    size_t len = area[i + 2];
    if (len < 4 || i + len > area.size()) break;
    std::span<const uint8_t> e = area.subspan(i, len);
    i += len;
    uint16_t kind = sig(static_cast<char>(e[0]), static_cast<char>(e[1]));
    if (kind == sig('S', 'T')) break;
    switch (kind) {
      case sig('S', 'P'):
        // Only meaningful as the first entry of the root's "." record.
        if (root_dot && first && len >= 7 && e[4] == 0xbe && e[5] == 0xef) {
          s.rock.sp = true;
          s.rock.skip = e[6];
        }
        break;
      case sig('E', 'R'): s.rock.er = true; break;
      case sig('C', 'E'):
        if (len >= 28) {
          s.ce = true;
          s.ce_block = both32(e.data() + 4);
          s.ce_offset = both32(e.data() + 12);
          s.ce_length = both32(e.data() + 20);
        }
        break;
      case sig('R', 'R'): s.rock.rrip = true; break;
      case sig('P', 'X'):
        s.rock.rrip = true;
        if (len >= 36) {
          s.rock.mode = both32(e.data() + 4);
          s.rock.nlink = both32(e.data() + 12);
          s.rock.uid = both32(e.data() + 20);
          s.rock.gid = both32(e.data() + 28);
        }
        if (len >= 44) s.rock.ino = both32(e.data() + 36);
        break;
      case sig('P', 'N'):
        s.rock.rrip = true;
        if (len >= 20) {
          uint32_t high = both32(e.data() + 4), low = both32(e.data() + 12);
          // Writers with a 32-bit dev_t put it all in the low word (Linux's rule).
          s.rock.rdev = (high == 0 && (low & ~0xffu)) ? makedev(low >> 8, low & 0xff) : makedev(high, low);
        }
        break;
      case sig('S', 'L'): s.rock.rrip = true; add_link_components(s, e); break;
      case sig('N', 'M'): s.rock.rrip = true; add_name(s, e); break;
      case sig('C', 'L'):
        s.rock.rrip = true;
        if (len >= 12) s.rock.child_link = both32(e.data() + 4);
        break;
      case sig('R', 'E'): s.rock.rrip = true; s.rock.relocated = true; break;
      case sig('T', 'F'): s.rock.rrip = true; add_times(s, e); break;
      case sig('Z', 'F'): s.rock.zisofs = true; break;
      default: break;  // PL, SF, AA, AL, ... not needed for reading
    }
    first = false;
  }
}

}  // namespace

Rock IsoFs::parse_rock(std::span<const uint8_t> system_use, bool root_dot) const {
  State s;
  if (!root_dot) {
    if (m_rock_skip >= system_use.size()) return s.rock;
    system_use = system_use.subspan(m_rock_skip);
  }
  parse_area(s, system_use, root_dot);
  // Continuation areas: bounded in number and size, each inside the device.
  // A bad one ends the parsing with what was gathered so far, as Linux does.
  for (int hop = 0; s.ce && hop < kMaxContinuations; ++hop) {
    s.ce = false;
    uint64_t off = 0;
    auto base = checked_mul(s.ce_block, m_block_size);
    if (!base || s.ce_length == 0 || s.ce_length > kMaxContinuationBytes) break;
    auto at = checked_add(*base, s.ce_offset);
    if (!at) break;
    off = *at;
    if (!range_within(off, s.ce_length, m_dev->size())) break;
    std::vector<std::byte> area(s.ce_length);
    if (!m_dev->read(off, area)) break;
    parse_area(s, std::span(reinterpret_cast<const uint8_t*>(area.data()), area.size()), root_dot);
  }
  return s.rock;
}

}  // namespace dk::fs::iso
