#include "appliance/agent/ops/common.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace dk::agent::ops {
namespace {

const json* find_arg(Context& ctx, const char* name) {
  const json& a = ctx.args();
  if (!a.is_object()) return nullptr;
  auto it = a.find(name);
  if (it == a.end() || it->is_null()) return nullptr;
  return &*it;
}

bool is_block_device(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
}

// Tools that name the errno in their message: keep the code so the host
// can tell "no space" from "busy" from a generic failure.
int errno_of_message(const std::string& msg) {
  static const std::pair<const char*, int> kKnown[] = {
      {"No space left on device", ENOSPC}, {"Device or resource busy", EBUSY},
      {"No such file or directory", ENOENT}, {"Permission denied", EACCES},
      {"Read-only file system", EROFS},   {"Invalid argument", EINVAL},
      {"File exists", EEXIST},            {"Operation not supported", ENOTSUP},
  };
  for (auto& [text, code] : kKnown)
    if (msg.find(text) != std::string::npos) return code;
  return EIO;
}

}  // namespace

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::string line = text.substr(i, j - i);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!trim(line).empty()) out.push_back(std::move(line));
    i = j + 1;
  }
  return out;
}

Result<std::string> str_arg(Context& ctx, const char* name) {
  const json* v = find_arg(ctx, name);
  if (!v || !v->is_string()) return make_error(EINVAL, std::string("argument '") + name + "' must be a string");
  return v->get<std::string>();
}

Result<std::optional<std::string>> opt_str(Context& ctx, const char* name) {
  const json* v = find_arg(ctx, name);
  if (!v) return std::optional<std::string>{};
  if (!v->is_string()) return make_error(EINVAL, std::string("argument '") + name + "' must be a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<int64_t>> opt_int(Context& ctx, const char* name) {
  const json* v = find_arg(ctx, name);
  if (!v) return std::optional<int64_t>{};
  if (!v->is_number_integer()) return make_error(EINVAL, std::string("argument '") + name + "' must be an integer");
  return std::optional<int64_t>(v->get<int64_t>());
}

Result<std::optional<bool>> opt_bool(Context& ctx, const char* name) {
  const json* v = find_arg(ctx, name);
  if (!v) return std::optional<bool>{};
  if (!v->is_boolean()) return make_error(EINVAL, std::string("argument '") + name + "' must be true or false");
  return std::optional<bool>(v->get<bool>());
}

Result<int64_t> int_arg(Context& ctx, const char* name) {
  auto v = DK_TRY(opt_int(ctx, name));
  if (!v) return make_error(EINVAL, std::string("argument '") + name + "' must be an integer");
  return *v;
}

Result<int> partnum_arg(Context& ctx, const char* name) {
  int64_t n = DK_TRY(int_arg(ctx, name));
  if (n <= 0) return make_error(EINVAL, "partition number must be >= 1");
  if (n > 4096) return make_error(EINVAL, "partition number " + std::to_string(n) + " is too large");
  return static_cast<int>(n);
}

bool is_plain_name(std::string_view s) {
  if (s.empty() || s.size() > 127 || s[0] == '-' || s[0] == '.') return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '_' && c != '.' && c != '-') return false;
  return true;
}

Result<std::string> check_device(Context& ctx, const std::string& user, DevKind kind) {
  auto mapped = ctx.guest_device(user);
  if (mapped) {
    // Whole disks have no digit at the end of their user name (/dev/sda);
    // partitions do (/dev/sda1).
    bool is_part = !user.empty() && std::isdigit(static_cast<unsigned char>(user.back()));
    if (kind == DevKind::Disk && is_part)
      return make_error(EINVAL, "'" + user + "' is a partition, not a whole device");
    if (kind == DevKind::Partition && !is_part)
      return make_error(EINVAL, "'" + user + "': device name is not a partition");
    return std::string(*mapped);
  }
  if (kind == DevKind::Any) {
    // /dev/VG/LV or /dev/mapper/NAME: made by LVM or cryptsetup in the guest.
    std::string_view rest(user);
    if (rest.compare(0, 5, "/dev/") == 0) {
      rest.remove_prefix(5);
      size_t slash = rest.find('/');
      if (slash != std::string_view::npos && rest.find('/', slash + 1) == std::string_view::npos &&
          is_plain_name(rest.substr(0, slash)) && is_plain_name(rest.substr(slash + 1)) && is_block_device(user))
        return user;
    }
  }
  return make_error(mapped.error().code ? mapped.error().code : ENOENT, mapped.error().message);
}

Result<std::string> device_arg(Context& ctx, const char* name, DevKind kind) {
  std::string user = DK_TRY(str_arg(ctx, name));
  return check_device(ctx, user, kind);
}

std::string user_name(Context& ctx, const std::string& guest) {
  if (guest.compare(0, 12, "/dev/mapper/") == 0) {
    // LVM's mapper names double a '-' inside a VG or LV name; a single '-'
    // separates them. Show LVs as /dev/VG/LV like libguestfs.
    std::string n = guest.substr(12), vg, lv;
    size_t i = 0;
    for (; i < n.size(); ++i) {
      if (n[i] == '-' && i + 1 < n.size() && n[i + 1] == '-') {
        vg += '-';
        ++i;
      } else if (n[i] == '-') {
        break;
      } else {
        vg += n[i];
      }
    }
    if (i < n.size()) {
      for (size_t j = i + 1; j < n.size(); ++j) {
        lv += n[j];
        if (n[j] == '-' && j + 1 < n.size() && n[j + 1] == '-') ++j;
      }
      std::string lv_path = "/dev/" + vg + "/" + lv;
      if (is_block_device(lv_path)) return lv_path;
    }
    return guest;
  }
  return ctx.user_device(guest);
}

std::string last_line(const CommandResult& r) {
  // Noise that is never the error: lvm's leaked-descriptor warnings and
  // the "Run `tool --help'" hint it ends with.
  auto noise = [](const std::string& l) {
    return l.find("leaked on lvm invocation") != std::string::npos ||
           (l.find("Run `") != std::string::npos && l.find("--help'") != std::string::npos);
  };
  std::vector<std::string> lines;
  for (auto& l : lines_of(r.err))
    if (!noise(l)) lines.push_back(l);
  if (lines.empty()) lines = lines_of(r.out);
  // A tool that prints its usage after the error (mkfs.xfs): the error is
  // the line before "Usage:".
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string t = trim(lines[i]);
    if (t.compare(0, 6, "Usage:") == 0 || t.compare(0, 6, "usage:") == 0) return trim(lines[i - 1]);
  }
  return lines.empty() ? std::string("exit status " + std::to_string(r.status)) : trim(lines.back());
}

Result<CommandResult> run_tool(Context& ctx, const std::vector<std::string>& argv, std::string_view what,
                               const std::string& input) {
  CommandResult r = DK_TRY_CTX(run_command(argv, input, [&ctx] { return ctx.cancelled(); }), std::string(what));
  if (r.status != 0) {
    std::string line = last_line(r);
    return make_error(errno_of_message(line), std::string(what) + ": " + line);
  }
  return r;
}

}  // namespace dk::agent::ops
