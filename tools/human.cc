#include "tools/human.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "tools/options.h"

namespace dk::tools {

std::string size_to_str(uint64_t bytes) {
  static constexpr const char* kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  // Scaling by 1024/1000 before taking log2 makes a value that would print
  // as >= 1000 move to the next unit (1000 B prints as 0.977 KiB).
  int exp = 0;
  std::frexp(static_cast<double>(bytes) / (1000.0 / 1024.0), &exp);
  int unit = (exp - 1) / 10;
  if (unit < 0) unit = 0;
  if (unit > 6) unit = 6;
  double div = static_cast<double>(1ull << (unit * 10));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%0.3g %sB", static_cast<double>(bytes) / div, kSuffixes[unit]);
  return buf;
}

std::string snapshot_table_header() {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%-10s%-17s%8s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE",
                "VM CLOCK", "ICOUNT");
  return buf;
}

std::string snapshot_table_row(const fmt::SnapshotInfo& sn) {
  char date[64] = "";
  time_t t = static_cast<time_t>(sn.date_sec);
  struct tm tm {};
  if (localtime_r(&t, &tm)) std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  uint64_t secs = sn.vm_clock_nsec / 1000000000ull;
  char clock[64];
  std::snprintf(clock, sizeof clock, "%02d:%02d:%02d.%03d", static_cast<int>(secs / 3600),
                static_cast<int>((secs / 60) % 60), static_cast<int>(secs % 60),
                static_cast<int>((sn.vm_clock_nsec / 1000000) % 1000));
  std::string icount = sn.icount ? std::to_string(*sn.icount) : "";
  std::string vm_size = size_to_str(sn.vm_state_size);
  std::string out(sn.id.size() + sn.name.size() + 128, '\0');
  int n = std::snprintf(out.data(), out.size(), "%-9s %-16s %8s%20s%13s%11s", sn.id.c_str(),
                        sn.name.c_str(), vm_size.c_str(), date, clock, icount.c_str());
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

namespace {

// Options of QEMU's host-file protocol driver, which qemu-img appends after
// the format's own options.
const std::vector<CreateOptSpec>& file_protocol_options() {
  static const std::vector<CreateOptSpec> opts = {{"size", OptKind::Size, ""},
                                                  {"nocow", OptKind::Bool, ""},
                                                  {"preallocation", OptKind::Str, ""},
                                                  {"extent_size_hint", OptKind::Size, ""}};
  return opts;
}

// The format's own create options in QEMU's order.
std::optional<std::vector<CreateOptSpec>> qemu_format_options(std::string_view format) {
  using K = OptKind;
  std::vector<CreateOptSpec> order;
  if (format == "raw") {
    order = {{"size", K::Size, ""}};
  } else if (format == "qcow2") {
    order = {{"encryption", K::Bool, ""},
             {"encrypt.format", K::Str, ""},
             {"encrypt.key-secret", K::Str, ""},
             {"encrypt.cipher-alg", K::Str, ""},
             {"encrypt.cipher-mode", K::Str, ""},
             {"encrypt.ivgen-alg", K::Str, ""},
             {"encrypt.ivgen-hash-alg", K::Str, ""},
             {"encrypt.hash-alg", K::Str, ""},
             {"encrypt.iter-time", K::Num, ""},
             {"cluster_size", K::Size, "65536"},
             {"extended_l2", K::Bool, "off"},
             {"preallocation", K::Str, ""},
             {"compression_type", K::Str, "zlib"},
             {"size", K::Size, ""},
             {"compat", K::Str, ""},
             {"backing_file", K::Str, ""},
             {"backing_fmt", K::Str, ""},
             {"data_file", K::Str, ""},
             {"data_file_raw", K::Bool, ""},
             {"lazy_refcounts", K::Bool, "off"},
             {"refcount_bits", K::Num, "16"}};
  } else if (format == "qed") {
    order = {{"size", K::Size, ""},          {"backing_file", K::Str, ""},
             {"backing_fmt", K::Str, ""},    {"cluster_size", K::Size, "65536"},
             {"table_size", K::Num, ""}};
  } else if (format == "vmdk") {
    order = {{"size", K::Size, ""},          {"adapter_type", K::Str, ""},
             {"backing_file", K::Str, ""},   {"backing_fmt", K::Str, ""},
             {"compat6", K::Bool, "off"},    {"hwversion", K::Str, "undefined"},
             {"toolsversion", K::Str, ""},   {"subformat", K::Str, ""},
             {"zeroed_grain", K::Bool, ""}};
  } else if (format == "vdi") {
    order = {{"size", K::Size, ""}, {"static", K::Bool, "off"}};
  } else {
    return std::nullopt;
  }
  return order;
}

}  // namespace

bool is_qemu_protocol_option(std::string_view format, std::string_view name) {
  auto own = qemu_format_options(format);
  if (!own) return false;
  for (const CreateOptSpec& o : *own)
    if (o.name == name) return false;
  for (const CreateOptSpec& o : file_protocol_options())
    if (o.name == name) return true;
  return false;
}

std::optional<std::vector<CreateOptSpec>> qemu_create_print_order(std::string_view format) {
  auto order = qemu_format_options(format);
  if (!order) return std::nullopt;
  for (const CreateOptSpec& f : file_protocol_options()) {
    bool dup = false;
    for (const CreateOptSpec& o : *order) dup = dup || o.name == f.name;
    if (!dup) order->push_back(f);
  }
  return order;
}

OptKind opt_kind_from_type(std::string_view type) {
  if (type == "size") return OptKind::Size;
  if (type == "num" || type == "number") return OptKind::Num;
  if (type == "bool") return OptKind::Bool;
  return OptKind::Str;
}

Result<uint64_t> parse_number_option(std::string_view key, std::string_view value, OptKind kind) {
  std::string k(key);
  if (kind == OptKind::Size) {
    auto r = parse_size(value, k);
    if (!r)
      return make_error(EINVAL, "Parameter '" + k +
                                    "' expects a non-negative number below 2^64 (optional "
                                    "suffix k, M, G, T, P or E)");
    return *r;
  }
  std::string v(value);
  errno = 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 0);
  if (v.empty() || v[0] == '-' || *end || errno)
    return make_error(EINVAL, "Parameter '" + k + "' expects a number");
  return n;
}

Result<std::string> formatting_line(std::string_view filename, std::string_view format,
                                    const std::vector<CreateOptSpec>& order,
                                    const std::map<std::string, std::string>& given) {
  std::string out = "Formatting '" + std::string(filename) + "', fmt=" + std::string(format);
  for (const CreateOptSpec& spec : order) {
    auto it = given.find(std::string(spec.name));
    std::string value;
    if (it != given.end()) {
      value = it->second;
      if (spec.kind == OptKind::Size || spec.kind == OptKind::Num)
        value = std::to_string(DK_TRY(parse_number_option(spec.name, value, spec.kind)));
    } else if (!spec.default_value.empty()) {
      value = spec.default_value;
    } else {
      continue;
    }
    out += ' ';
    out += spec.name;
    out += '=';
    if (spec.kind == OptKind::Str) {
      // QEMU escapes ',' as ",," so the line can be pasted back into -o.
      for (char c : value) {
        out += c;
        if (c == ',') out += ',';
      }
    } else {
      out += value;
    }
  }
  return out;
}

bool map_entries_mergeable(const fmt::MapEntry& cur, const fmt::MapEntry& next) {
  if (cur.length == 0) return false;
  if (cur.zero != next.zero || cur.data != next.data || cur.depth != next.depth ||
      cur.present != next.present || cur.offset.has_value() != next.offset.has_value())
    return false;
  // The file only identifies where a host offset points.
  if (cur.offset && cur.file != next.file) return false;
  if (cur.offset && *cur.offset + cur.length != *next.offset) return false;
  return true;
}

std::string map_header(bool json) {
  if (json) return "[";
  char buf[128];
  std::snprintf(buf, sizeof buf, "%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
  return buf;
}

Result<void> map_dump_entry(bool json, const fmt::MapEntry& e, fmt::MapEntry* next, std::string& out) {
  char buf[256];
  if (json) {
    std::snprintf(buf, sizeof buf,
                  "{ \"start\": %llu, \"length\": %llu, \"depth\": %d, \"present\": %s, "
                  "\"zero\": %s, \"data\": %s",
                  static_cast<unsigned long long>(e.start), static_cast<unsigned long long>(e.length),
                  e.depth, e.present ? "true" : "false", e.zero ? "true" : "false",
                  e.data ? "true" : "false");
    out += buf;
    if (e.offset) out += ", \"offset\": " + std::to_string(*e.offset);
    out += '}';
    if (next) out += ",\n";
    return {};
  }
  if (e.data && !e.offset)
    return make_error(ENOTSUP, "File contains external, encrypted or compressed clusters.");
  if (e.data && !e.zero) {
    std::snprintf(buf, sizeof buf, "%#-16llx%#-16llx%#-16llx",
                  static_cast<unsigned long long>(e.start),
                  static_cast<unsigned long long>(e.length),
                  static_cast<unsigned long long>(e.offset.value_or(0)));
    out += buf;
    out += e.file;
    out += '\n';
  }
  // Human output does not tell zero, unallocated and zero+data apart; make
  // them alike so they merge into one gap.
  if (next && (!next->data || next->zero)) {
    next->data = false;
    next->zero = true;
  }
  return {};
}

}  // namespace dk::tools
