// Reading files: ls, ll, find, du, cat, read-file, pread, head(-n),
// tail(-n), read-lines, hexdump, checksum, grep and friends, file, wc-*.
#include <regex.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>

#include "fs/walk.h"
#include "tools/fish/guestio.h"
#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

// Lines of a text; a final newline does not start an empty line.
std::vector<std::string> split_lines(const std::string& text, bool strip_cr) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::string line = text.substr(i, j - i);
    if (strip_cr && !line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    i = j + 1;
  }
  return out;
}

Result<void> head_tail(Shell& sh, const std::string& path, int64_t n, bool head) {
  auto lines = split_lines(DK_TRY(read_whole(sh, path)), false);
  int64_t count = static_cast<int64_t>(lines.size());
  int64_t from = 0, to = count;
  if (head) {
    to = n >= 0 ? std::min(n, count) : std::max<int64_t>(0, count + n);
  } else {
    from = n >= 0 ? std::max<int64_t>(0, count - n) : std::min(count, std::max<int64_t>(0, -n - 1));
  }
  for (int64_t i = from; i < to; ++i) std::printf("%s\n", lines[static_cast<size_t>(i)].c_str());
  return {};
}

// ls -la's listing inside guestfish's appliance: numeric owners except root.
std::string owner_name(uint32_t id) { return id == 0 ? "root" : std::to_string(id); }

std::string ls_time(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::time_t now = std::time(nullptr);
  // Recent: within six months in the past (and not in the future).
  bool recent = t <= now && now - t < 31556952 / 2;
  std::strftime(buf, sizeof buf, recent ? "%b %e %H:%M" : "%b %e  %Y", &tm);
  return buf;
}

Result<void> ll(Shell& sh, const std::string& dir) {
  auto self = DK_TRY(sh.resolve(dir, true));
  fs::Stat st_self = DK_TRY(self.inode->stat());
  if (st_self.type() != fs::FileType::Directory) return make_error(ENOTDIR, "'" + dir + "': Not a directory");
  struct Row { std::string name; fs::Stat st; std::string target; };
  std::vector<Row> rows;
  rows.push_back({".", st_self, ""});
  std::string parent_path = self.path == "/" ? "/" : self.path.substr(0, self.path.rfind('/'));
  auto parent = DK_TRY(sh.resolve(parent_path.empty() ? "/" : parent_path, true));
  rows.push_back({"..", DK_TRY(parent.inode->stat()), ""});
  for (auto& e : DK_TRY(fs::list_directory(sh.mounts().tree(), self.path))) {
    Row r{e.name, e.st, ""};
    if (e.st.type() == fs::FileType::Symlink) r.target = e.inode->readlink().value_or("");
    rows.push_back(std::move(r));
  }
  std::sort(rows.begin() + 2, rows.end(), [](const Row& a, const Row& b) { return a.name < b.name; });
  size_t wl = 0, wu = 0, wg = 0, ws = 0;
  uint64_t total = 0;
  auto size_col = [](const fs::Stat& st) {
    if (st.type() == fs::FileType::CharDev || st.type() == fs::FileType::BlockDev) {
      unsigned maj = static_cast<unsigned>(((st.rdev >> 8) & 0xfff) | ((st.rdev >> 32) & ~0xfffu));
      unsigned min = static_cast<unsigned>((st.rdev & 0xff) | ((st.rdev >> 12) & ~0xffu));
      return std::to_string(maj) + ", " + std::to_string(min);
    }
    return std::to_string(st.size);
  };
  for (auto& r : rows) {
    wl = std::max(wl, std::to_string(r.st.nlink).size());
    wu = std::max(wu, owner_name(r.st.uid).size());
    wg = std::max(wg, owner_name(r.st.gid).size());
    ws = std::max(ws, size_col(r.st).size());
    total += r.st.blocks;
  }
  std::string out = "total " + std::to_string((total + 1) / 2) + "\n";
  char buf[512];
  for (auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%s %*s %-*s %-*s %*s %s ", fs::mode_string(r.st.mode).c_str(),
                  static_cast<int>(wl), std::to_string(r.st.nlink).c_str(), static_cast<int>(wu),
                  owner_name(r.st.uid).c_str(), static_cast<int>(wg), owner_name(r.st.gid).c_str(),
                  static_cast<int>(ws), size_col(r.st).c_str(), ls_time(r.st.mtime.sec).c_str());
    out += buf + r.name;
    if (!r.target.empty()) out += " -> " + r.target;
    out += "\n";
  }
  print_string(out);
  return {};
}

Result<void> find(Shell& sh, const std::string& dir) {
  std::vector<std::string> names;
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  DK_TRY(fs::walk(sh.mounts().tree(), dir, [&](const fs::WalkEntry& e) -> Result<bool> {
    // guestfish 1.48 prints the names relative to the directory with a
    // leading "/" ("/user", "/user/a file.txt").
    names.push_back(e.path.substr(base == "/" ? 0 : base.size()));
    return true;
  }));
  std::sort(names.begin(), names.end());
  print_strings(names);
  return {};
}

Result<void> du(Shell& sh, const std::string& path) {
  auto r = DK_TRY(sh.resolve(path, true));
  fs::Stat st = DK_TRY(r.inode->stat());
  uint64_t blocks = st.blocks;
  if (st.type() == fs::FileType::Directory) {
    std::set<std::pair<fs::FileSystem*, uint64_t>> seen;
    DK_TRY(fs::walk(sh.mounts().tree(), r.path, [&](const fs::WalkEntry& e) -> Result<bool> {
      if (e.st.nlink > 1 && e.st.type() != fs::FileType::Directory && !seen.insert({e.fs, e.st.ino}).second)
        return true;
      blocks += e.st.blocks;
      return true;
    }));
  }
  print_int(static_cast<int64_t>((blocks + 1) / 2));
  return {};
}

Result<void> checksum(Shell& sh, const std::string& type, const std::string& path) {
  std::string t;
  for (char c : type) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string prog = t == "crc"      ? "cksum"
                     : t == "md5"    ? "md5sum"
                     : t == "sha1"   ? "sha1sum"
                     : t == "sha224" ? "sha224sum"
                     : t == "sha256" ? "sha256sum"
                     : t == "sha384" ? "sha384sum"
                     : t == "sha512" ? "sha512sum"
                                     : "";
  if (prog.empty())
    return make_error(EINVAL, "unknown checksum type, expecting crc|md5|sha1|sha224|sha256|sha384|sha512");
  fs::InodePtr ino = DK_TRY(open_regular(sh, path));
  std::string out = DK_TRY(filter_file(*ino, {prog}));
  print_string(out.substr(0, out.find_first_of(" \t\n")));
  return {};
}

struct GrepMode {
  bool extended = false, fixed = false, insensitive = false;
};

Result<void> grep(Shell& sh, const std::string& pattern, const std::string& path, GrepMode m) {
  std::string text = DK_TRY(read_whole(sh, path));
  regex_t re{};
  if (!m.fixed) {
    int flags = REG_NOSUB | (m.extended ? REG_EXTENDED : 0) | (m.insensitive ? REG_ICASE : 0);
    int rc = regcomp(&re, pattern.c_str(), flags);
    if (rc != 0) {
      char msg[256];
      regerror(rc, &re, msg, sizeof msg);
      return make_error(EINVAL, std::string("grep: ") + msg);
    }
  }
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string lpat = lower(pattern);
  for (const std::string& line : split_lines(text, false)) {
    bool hit = m.fixed ? (m.insensitive ? lower(line).find(lpat) : line.find(pattern)) != std::string::npos
                       : regexec(&re, line.c_str(), 0, nullptr, 0) == 0;
    if (hit) std::printf("%s\n", line.c_str());
  }
  if (!m.fixed) regfree(&re);
  return {};
}

Result<void> file_type(Shell& sh, const std::string& path) {
  auto r = DK_TRY(sh.resolve(path, false));
  fs::Stat st = DK_TRY(r.inode->stat());
  switch (st.type()) {
    case fs::FileType::Directory: print_string("directory"); return {};
    case fs::FileType::CharDev: print_string("character device"); return {};
    case fs::FileType::BlockDev: print_string("block device"); return {};
    case fs::FileType::Fifo: print_string("FIFO"); return {};
    case fs::FileType::Symlink: print_string("symbolic link"); return {};
    case fs::FileType::Socket: print_string("socket"); return {};
    default: break;
  }
  // The daemon runs file(1) on the file; so does this, on a temporary copy.
  char tmpl[] = "/tmp/diskit-fish-file.XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return errno_error("creating a temporary file");
  ::close(fd);
  auto dl = download_to(sh, path, tmpl);
  std::string out;
  if (dl) {
    std::string cmd = std::string("file -zSb '") + tmpl + "' 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    if (p) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
      if (pclose(p) != 0) out.clear();
    }
  }
  ::unlink(tmpl);
  DK_TRY(dl);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (out.empty()) return make_error(ENOENT, "file(1) could not be run on the host");
  print_string(out);
  return {};
}

FishCommand path_cmd(const char* name, const char* summary, const char* desc,
                     std::function<Result<void>(Shell&, const std::string&)> f) {
  return make_command(name, "path", 1, Need::Root, summary, desc,
                      [f](Shell& sh, const Call& c) -> Result<void> { return f(sh, c.args[0]); });
}

}  // namespace

void add_read_commands(CommandTable& t) {
  t.add(make_command("ls", "directory", 1, Need::Root, "list the files in a directory",
                     "Lists the names in the directory (without . and ..), sorted.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       for (auto& e : DK_TRY(fs::list_directory(sh.mounts().tree(), c.args[0])))
                         std::printf("%s\n", e.name.c_str());
                       return {};
                     }));
  t.add(make_command("ll", "directory", 1, Need::Root, "list the files in a directory (long format)",
                     "Prints ls -la's listing of the directory (owners other than root as numbers,\n"
                     "times in UTC). For scripts, ls and lstatns are better.",
                     [](Shell& sh, const Call& c) -> Result<void> { return ll(sh, c.args[0]); }));
  t.add(make_command("find", "directory", 1, Need::Root, "find all files and directories",
                     "Lists everything below the directory, recursively, as paths relative to it\n"
                     "(\"etc\", \"etc/passwd\"), sorted. Mounted file systems below it are included.",
                     [](Shell& sh, const Call& c) -> Result<void> { return find(sh, c.args[0]); }));
  t.add(path_cmd("du", "estimate file space usage",
                 "Prints the space the file or directory tree uses, in kilobytes (du -s).", du));
  t.add(path_cmd("cat", "list the contents of a file",
                 "Prints the file's contents (followed by a newline, as guestfish does). For\n"
                 "binary files use read-file or download.",
                 [](Shell& sh, const std::string& p) -> Result<void> {
                   print_string(DK_TRY(read_whole(sh, p)));
                   return {};
                 }));
  t.add(path_cmd("read-file", "read a file", "Prints the file's bytes exactly.",
                 [](Shell& sh, const std::string& p) -> Result<void> { return print_buffer(DK_TRY(read_whole(sh, p))); }));
  t.add(make_command("pread", "path count offset", 3, Need::Root, "read part of a file",
                     "Prints up to count bytes of the file starting at offset.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       int64_t count = DK_TRY(parse_integer(c.args[1], "count"));
                       int64_t off = DK_TRY(parse_integer(c.args[2], "offset"));
                       if (count < 0 || off < 0) return make_error(EINVAL, "count and offset must be >= 0");
                       if (count > static_cast<int64_t>(kMaxWholeRead)) return make_error(EINVAL, "count is too large");
                       fs::InodePtr ino = DK_TRY(open_regular(sh, c.args[0]));
                       std::string buf(static_cast<size_t>(count), '\0');
                       size_t got = DK_TRY(ino->read(static_cast<uint64_t>(off),
                                                     std::as_writable_bytes(std::span(buf.data(), buf.size()))));
                       buf.resize(got);
                       return print_buffer(buf);
                     }));
  t.add(path_cmd("head", "return first 10 lines of a file", "Prints the first 10 lines of the file.",
                 [](Shell& sh, const std::string& p) { return head_tail(sh, p, 10, true); }));
  t.add(path_cmd("tail", "return last 10 lines of a file", "Prints the last 10 lines of the file.",
                 [](Shell& sh, const std::string& p) { return head_tail(sh, p, 10, false); }));
  t.add(make_command("head-n", "nrlines path", 2, Need::Root, "return first N lines of a file",
                     "Prints the first nrlines lines; a negative nrlines prints all but the last\n"
                     "-nrlines lines; 0 prints nothing.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       return head_tail(sh, c.args[1], DK_TRY(parse_integer(c.args[0], "nrlines")), true);
                     }));
  t.add(make_command("tail-n", "nrlines path", 2, Need::Root, "return last N lines of a file",
                     "Prints the last nrlines lines; a negative nrlines prints from line -nrlines on.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       return head_tail(sh, c.args[1], DK_TRY(parse_integer(c.args[0], "nrlines")), false);
                     }));
  t.add(path_cmd("read-lines", "read file as lines",
                 "Prints the file's lines (LF or CRLF line ends removed), one per line.",
                 [](Shell& sh, const std::string& p) -> Result<void> {
                   print_strings(split_lines(DK_TRY(read_whole(sh, p)), true));
                   return {};
                 }));
  t.add(path_cmd("hexdump", "dump a file in hexadecimal", "Prints hexdump -C of the file.",
                 [](Shell& sh, const std::string& p) -> Result<void> {
                   print_string(hexdump_c(DK_TRY(read_whole(sh, p))));
                   return {};
                 }));
  t.add(make_command("checksum", "csumtype path", 2, Need::Root, "compute MD5, SHAx or CRC checksum of file",
                     "Prints the checksum of the file in hexadecimal. csumtype is one of crc (POSIX\n"
                     "cksum, printed in decimal), md5, sha1, sha224, sha256, sha384, sha512.",
                     [](Shell& sh, const Call& c) -> Result<void> { return checksum(sh, c.args[0], c.args[1]); }));
  FishCommand g = make_command("grep", "regex path", 2, Need::Root, "return lines matching a pattern",
                               "Prints the lines of the file that match the regular expression (grep's basic\n"
                               "syntax; extended:true for egrep's, fixed:true for a plain string,\n"
                               "insensitive:true to ignore case).",
                               [](Shell& sh, const Call& c) -> Result<void> {
                                 if (c.flag("compressed"))
                                   return make_error(ENOTSUP, "compressed:true is not supported yet");
                                 return grep(sh, c.args[0], c.args[1],
                                             {c.flag("extended"), c.flag("fixed"), c.flag("insensitive")});
                               });
  g.optargs = {{"extended", OptKind::Bool}, {"fixed", OptKind::Bool}, {"insensitive", OptKind::Bool},
               {"compressed", OptKind::Bool}};
  t.add(g);
  struct Variant { const char* name; GrepMode mode; };
  for (Variant v : {Variant{"egrep", {true, false, false}}, Variant{"fgrep", {false, true, false}},
                    Variant{"grepi", {false, false, true}}, Variant{"egrepi", {true, false, true}},
                    Variant{"fgrepi", {false, true, true}}}) {
    GrepMode m = v.mode;
    t.add(make_command(v.name, "regex path", 2, Need::Root, "return lines matching a pattern",
                       "Deprecated form of grep with extended:, fixed: or insensitive:true.",
                       [m](Shell& sh, const Call& c) -> Result<void> { return grep(sh, c.args[0], c.args[1], m); }));
  }
  t.add(path_cmd("file", "determine file type",
                 "Prints what file(1) says about a regular file, or \"directory\", \"symbolic link\",\n"
                 "\"character device\", \"block device\", \"FIFO\" or \"socket\".",
                 file_type));
  auto wc = [](const char* name, const char* summary, int what) {
    return path_cmd(name, summary, "Counts in the file as wc does.",
                    [what](Shell& sh, const std::string& p) -> Result<void> {
                      std::string s = DK_TRY(read_whole(sh, p));
                      int64_t n = 0;
                      if (what == 0) {
                        n = std::count(s.begin(), s.end(), '\n');
                      } else if (what == 1) {
                        n = static_cast<int64_t>(s.size());
                      } else {
                        bool in = false;
                        for (char ch : s) {
                          bool sp = std::isspace(static_cast<unsigned char>(ch));
                          if (!sp && !in) ++n;
                          in = !sp;
                        }
                      }
                      print_int(n);
                      return {};
                    });
  };
  t.add(wc("wc-l", "count lines in a file", 0));
  t.add(wc("wc-c", "count characters in a file", 1));
  t.add(wc("wc-w", "count words in a file", 2));
}

}  // namespace dk::tools::fish
