// diskit ls: virt-ls without a VM — list a directory of a guest.
//   ls DIR      names, one per line (guestfs ls)
//   ls -l DIR   what `ls -la DIR` prints in libguestfs' appliance (guestfs ll:
//               C locale, UTC, only uid/gid 0 has a name)
//   ls -R DIR   every path below DIR, one per line
//   ls -lR DIR  virt-ls' own long lines: type, mode, size, path, -> target,
//               with --uids, --times, --extra-stats, --csv and -h
#include <sys/sysmacros.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "fs/mount.h"
#include "fs/walk.h"
#include "tools/command.h"
#include "tools/guest_args.h"
#include "tools/guest_output.h"

namespace dk::tools {
namespace {

struct LsOptions {
  GuestOptions guest;
  bool long_mode = false;
  bool recursive = false;
  bool csv = false;
  bool human = false;
  bool uids = false;
  bool times = false;
  bool extra = false;
  bool time_t_out = false;
  bool time_relative = false;
  bool time_days = false;
  std::vector<std::string> dirs;
};

char type_char(fs::FileType t) {
  switch (t) {
    case fs::FileType::Regular: return '-';
    case fs::FileType::Directory: return 'd';
    case fs::FileType::CharDev: return 'c';
    case fs::FileType::BlockDev: return 'b';
    case fs::FileType::Fifo: return 'p';
    case fs::FileType::Symlink: return 'l';
    case fs::FileType::Socket: return 's';
    default: return 'u';
  }
}

// One -lR line, field by field as virt-ls prints them (space or comma separated).
class LongLine {
 public:
  explicit LongLine(const LsOptions& o) : m_o(o) {}
  void field(const std::string& s) {
    if (m_fields++) m_line += m_o.csv ? ',' : ' ';
    m_line += m_o.csv ? csv_field(s) : s;
  }
  void padded(const char* fmt_text, const std::string& s) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt_text, s.c_str());
    field(m_o.csv ? s : std::string(buf));
  }
  std::string take() { return m_line + "\n"; }

 private:
  const LsOptions& m_o;
  std::string m_line;
  int m_fields = 0;
};

std::string time_field(const LsOptions& o, const fs::Timespec& t, int64_t now) {
  char buf[64];
  if (o.time_t_out) std::snprintf(buf, sizeof buf, o.csv ? "%" PRId64 : "%10" PRId64, t.sec);
  else if (o.time_relative) std::snprintf(buf, sizeof buf, o.csv ? "%" PRId64 : "%8" PRId64, now - t.sec);
  else if (o.time_days) std::snprintf(buf, sizeof buf, o.csv ? "%" PRId64 : "%3" PRId64, (now - t.sec) / 86400);
  else {
    time_t tt = static_cast<time_t>(t.sec);
    struct tm tm;
    localtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%F %T", &tm);
  }
  return buf;
}

// virt-ls -lR's line: type, permissions, size, [uids], [times], [extra], path, -> target.
void print_long(const LsOptions& o, const std::string& path, const fs::Stat& st, fs::Inode& inode) {
  LongLine l(o);
  l.field(std::string(1, type_char(st.type())));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04o", st.mode & 07777);
  l.field(buf);
  std::string size = o.human ? human_size(st.size) : std::to_string(st.size);
  l.padded("%10s", size);
  if (o.uids) {
    l.padded("%4s", std::to_string(st.uid));
    l.padded("%4s", std::to_string(st.gid));
  }
  if (o.times) {
    int64_t now = ::time(nullptr);
    for (const fs::Timespec* t : {&st.atime, &st.mtime, &st.ctime}) l.field(time_field(o, *t, now));
  }
  if (o.extra) {
    l.field("0:0");  // st_dev: the appliance's device numbers have no meaning here
    l.field(std::to_string(st.ino));
    l.field(std::to_string(st.nlink));
    l.field(std::to_string(major(st.rdev)) + ":" + std::to_string(minor(st.rdev)));
    l.field(std::to_string(st.blocks));
  }
  l.field(path);
  if (st.type() == fs::FileType::Symlink) {
    auto target = inode.readlink();
    if (target) l.field(o.csv ? *target : "-> " + *target);
  }
  std::fputs(l.take().c_str(), stdout);
}

// ---- ls -l: GNU `ls -la` in the appliance (C locale, UTC) ----

struct LlRow {
  std::string name;
  fs::Stat st;
  std::string target;
};

std::string ll_owner(uint32_t id) { return id == 0 ? "root" : std::to_string(id); }

std::string ll_time(const fs::Timespec& t, int64_t now) {
  // GNU ls: "Mon dd HH:MM" within the last six months, else "Mon dd  YYYY".
  constexpr int64_t kSixMonths = 31556952 / 2;
  time_t tt = static_cast<time_t>(t.sec);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  bool recent = now - kSixMonths < t.sec && t.sec <= now;
  std::strftime(buf, sizeof buf, recent ? "%b %e %H:%M" : "%b %e  %Y", &tm);
  return buf;
}

std::string ll_size(const fs::Stat& st) {
  if (st.type() == fs::FileType::CharDev || st.type() == fs::FileType::BlockDev)
    return std::to_string(major(st.rdev)) + ", " + std::to_string(minor(st.rdev));
  return std::to_string(st.size);
}

Result<void> ll(fs::GuestMounts& m, const std::string& dir) {
  auto ents = DK_TRY(fs::list_directory(m.tree(), dir));
  std::vector<LlRow> rows;
  auto self = DK_TRY(m.tree().resolve(dir, true));
  rows.push_back({".", DK_TRY(self.inode->stat()), ""});
  auto parent = DK_TRY(m.tree().resolve(self.path == "/" ? "/" : self.path + "/..", true));
  rows.push_back({"..", DK_TRY(parent.inode->stat()), ""});
  for (auto& e : ents) {
    LlRow r{e.name, e.st, ""};
    if (e.st.type() == fs::FileType::Symlink) {
      auto t = e.inode->readlink();
      if (t) r.target = *t;
    }
    rows.push_back(std::move(r));
  }
  std::sort(rows.begin(), rows.end(), [](const LlRow& a, const LlRow& b) { return a.name < b.name; });
  size_t wl = 0, wu = 0, wg = 0, ws = 0;
  uint64_t blocks = 0;
  for (auto& r : rows) {
    wl = std::max(wl, std::to_string(r.st.nlink).size());
    wu = std::max(wu, ll_owner(r.st.uid).size());
    wg = std::max(wg, ll_owner(r.st.gid).size());
    ws = std::max(ws, ll_size(r.st).size());
    blocks += r.st.blocks;
  }
  std::printf("total %" PRIu64 "\n", (blocks + 1) / 2);
  const int64_t now = ::time(nullptr);
  for (auto& r : rows) {
    std::string line = fs::mode_string(r.st.mode);
    char buf[512];
    std::snprintf(buf, sizeof buf, " %*s %-*s %-*s %*s %s ", static_cast<int>(wl),
                  std::to_string(r.st.nlink).c_str(), static_cast<int>(wu), ll_owner(r.st.uid).c_str(),
                  static_cast<int>(wg), ll_owner(r.st.gid).c_str(), static_cast<int>(ws), ll_size(r.st).c_str(),
                  ll_time(r.st.mtime, now).c_str());
    line += buf + r.name;
    if (r.st.type() == fs::FileType::Symlink) line += " -> " + r.target;
    std::printf("%s\n", line.c_str());
  }
  return {};
}

Result<void> ls_one(fs::GuestMounts& m, const LsOptions& o, const std::string& dir) {
  if (!o.recursive) {
    if (o.long_mode) return ll(m, dir);
    auto ents = DK_TRY(fs::list_directory(m.tree(), dir));
    for (auto& e : ents) std::printf("%s\n", e.name.c_str());
    return {};
  }
  if (o.long_mode) {
    // virt-ls -lR shows the start directory first.
    auto r = DK_TRY(m.tree().resolve(dir, false));
    fs::Stat st = DK_TRY(r.inode->stat());
    std::string shown = dir;
    while (shown.size() > 1 && shown.back() == '/') shown.pop_back();
    print_long(o, shown, st, *r.inode);
  }
  return fs::walk(m.tree(), dir, [&](const fs::WalkEntry& e) -> Result<bool> {
    if (o.long_mode) print_long(o, e.path, e.st, *e.inode);
    else std::printf("%s\n", e.path.c_str());
    return true;
  });
}

Result<int> run_ls(const CLI::App& app, LsOptions& o) {
  const bool lr = o.long_mode && o.recursive;
  if (!lr && (o.csv || o.human || o.uids || o.times || o.extra))
    return make_error(EINVAL, "used a flag which can only be combined with -lR mode");
  if (o.human && o.csv) return make_error(EINVAL, "you cannot use -h and --csv options together.");
  if (o.time_t_out || o.time_relative || o.time_days) o.times = true;
  auto guest = DK_TRY(open_guest(app, o.guest, false));
  fs::GuestMounts mounts(*guest);
  DK_TRY(mount_guest(mounts, o.guest, false));
  int status = 0;
  for (const std::string& d : o.dirs) {
    // Like virt-ls: a failing directory is reported and the others still listed.
    auto r = ls_one(mounts, o, d);
    if (!r) {
      std::fflush(stdout);
      if (o.dirs.size() == 1) return make_error(r.error());
      std::fprintf(stderr, "diskit: ls: %s\n", r.error().message.c_str());
      status = 1;
    }
  }
  return status;
}

}  // namespace

Command add_ls(CLI::App& parent) {
  auto o = std::make_shared<LsOptions>();
  Command c;
  c.app = parent.add_subcommand("ls", "List a directory in a guest");
  c.app->set_help_flag("--help", "Print this help message and exit");  // -h is --human-readable
  add_guest_options(*c.app, o->guest, true);
  c.app->add_flag("-l,--long", o->long_mode, "Long listing (with -R: type, mode, size, path, link target)");
  c.app->add_flag("-R,--recursive", o->recursive, "List everything below DIR with full paths");
  c.app->add_flag("--csv", o->csv, "Comma-separated output (-lR)");
  c.app->add_flag("-h,--human-readable", o->human, "Sizes like 1.0M (-lR)");
  c.app->add_flag("--uid,--uids", o->uids, "Show uid and gid (-lR)");
  c.app->add_flag("--time,--times", o->times, "Show atime, mtime and ctime (-lR)");
  c.app->add_flag("--time-t", o->time_t_out, "Times as seconds since the epoch (-lR)");
  c.app->add_flag("--time-relative", o->time_relative, "Times as seconds before now (-lR)");
  c.app->add_flag("--time-days", o->time_days, "Times as days before now (-lR)");
  c.app->add_flag("--extra-stat,--extra-stats", o->extra, "Show device, inode, links, rdev and blocks (-lR)");
  c.app->add_option("dir", o->dirs, "Guest directory")->required();
  c.run = [o, app = c.app]() -> Result<int> { return run_ls(*app, *o); };
  return c;
}

}  // namespace dk::tools
