#include "tools/fish/cmd_appliance.h"
#include "tools/fish/shell.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <pwd.h>

#include "tools/fish/inspect_state.h"

namespace dk::tools::fish {
namespace {

void warn_stderr(const std::string& w) { std::fprintf(stderr, "diskit: warning: %s\n", w.c_str()); }

// guestfish's ~ and ~user expansion of bare words.
std::string expand_tilde(const std::string& word) {
  size_t slash = word.find('/');
  std::string user = word.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  std::string rest = slash == std::string::npos ? "" : word.substr(slash);
  const char* home = nullptr;
  if (user.empty()) {
    home = std::getenv("HOME");
  } else if (const passwd* pw = getpwnam(user.c_str())) {
    home = pw->pw_dir;
  }
  return home ? std::string(home) + rest : word;
}

std::string canonical_path(std::string_view p) {
  std::vector<std::string> parts;
  for (auto& c : fs::split_path(p)) {
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(c);
    }
  }
  std::string out;
  for (auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

}  // namespace

Shell::Shell(ShellOptions o) : m_opts(std::move(o)) {}

Shell::~Shell() = default;

void Shell::set_input(std::string name, bool interactive) {
  m_input = std::move(name);
  m_interactive = interactive;
  m_lineno = 0;
}

void Shell::report_error(std::string_view cmd, std::string_view msg) const {
  std::fflush(stdout);
  std::string prefix = m_interactive ? "" : m_input + ":" + std::to_string(m_lineno) + ": ";
  std::fprintf(stderr, "%sdiskit: error: %.*s: %.*s\n", prefix.c_str(), static_cast<int>(cmd.size()), cmd.data(),
               static_cast<int>(msg.size()), msg.data());
}

void Shell::set_inspect_state(std::unique_ptr<InspectState> s) { m_inspect = std::move(s); }

bool Shell::read_only() const { return m_opts.read_only || m_fell_back_read_only; }

// ---- Commands ----

Result<void> Shell::check_call(const FishCommand& c, const std::vector<std::string>& raw, Call& call) const {
  call.name = c.name;
  size_t npos = raw.size();
  if (!c.optargs.empty()) {
    // Positional arguments come first; what follows must be name:value.
    npos = std::min<size_t>(raw.size(), static_cast<size_t>(c.min_args));
    for (size_t i = npos; i < raw.size(); ++i) {
      const OptArgSpec* spec = nullptr;
      for (const OptArgSpec& o : c.optargs)
        if (raw[i].compare(0, o.name.size() + 1, o.name + ":") == 0) spec = &o;
      if (!spec) return make_error(EINVAL, "unknown optional argument \"" + raw[i] + "\"");
      if (call.opts.count(spec->name))
        return make_error(EINVAL, "optional argument \"" + spec->name + "\" given more than once");
      std::string value = raw[i].substr(spec->name.size() + 1);
      if (spec->kind == OptKind::Bool) DK_TRY(parse_bool(value));
      if (spec->kind == OptKind::Int || spec->kind == OptKind::Int64) DK_TRY(parse_integer(value, spec->name));
      call.opts[spec->name] = value;
    }
  }
  call.args.assign(raw.begin(), raw.begin() + static_cast<long>(npos));
  return {};
}

int Shell::execute(const std::string& name, std::vector<std::string> args) {
  ++m_command_num;
  if (m_opts.trace) {
    std::string line = name;
    for (auto& a : args) line += " \"" + a + "\"";
    std::fflush(stdout);
    std::fprintf(stderr, "diskit: trace: %s\n", line.c_str());
  }
  const FishCommand* c = command_table().find(name);
  if (!c) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: unknown command\n", name.c_str());
    if (m_command_num == 1)
      std::fprintf(stderr, "Did you mean to open a disk image?  diskit fish -a disk.img\n"
                           "For a list of commands:             diskit fish help\n"
                           "For complete documentation:         man diskit-fish\n");
    return -1;
  }
  size_t nargs = args.size();
  bool count_ok = c->optargs.empty()
                      ? (static_cast<int>(nargs) >= c->min_args && (c->max_args < 0 || static_cast<int>(nargs) <= c->max_args))
                      : (static_cast<int>(nargs) >= c->min_args &&
                         nargs <= static_cast<size_t>(c->min_args) + c->optargs.size());
  if (!count_ok) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: incorrect number of arguments\nusage: %s\ntype 'help %s' for more help on %s\n",
                 c->synopsis().c_str(), name.c_str(), name.c_str());
    return -1;
  }
  InterruptGuard interrupts;  // ^C cancels what the appliance is doing for this command
  Call call;
  if (auto r = check_call(*c, args, call); !r) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", name.c_str(), r.error().message.c_str());
    return -1;
  }
  // Handlers see the name as typed (edit's aliases vi and emacs choose the editor).
  for (char& ch : call.name = name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (c->need != Need::Nothing && !launched()) {
    report_error(c->name, "call launch before using this function\n(in diskit fish, don't forget to use the 'run' command)");
    return -1;
  }
  if (c->need == Need::Root && m_records.empty()) {
    report_error(c->name, "you must call 'mount' first to mount the root filesystem");
    return -1;
  }
  if (c->writes && read_only()) {
    report_error(c->name, m_fell_back_read_only
                              ? "the disk image is not writable, so it was opened read-only; write commands are refused"
                              : "the disks were opened read-only (--ro); write commands are refused");
    return -1;
  }
  Result<void> r = c->run(*this, call);
  if (std::fflush(stdout) != 0 && r) r = errno_error("writing to standard output");
  if (!r) {
    report_error(c->name, r.error().message);
    return -1;
  }
  return 0;
}

int Shell::run_parsed(const ParsedLine& p, bool exit_on_error) {
  switch (p.kind) {
    case ParsedLine::Kind::Empty:
      return 0;
    case ParsedLine::Kind::Shell: {
      std::fflush(stdout);
      int r = std::system(p.command.c_str());
      return (r == -1 || !WIFEXITED(r) || WEXITSTATUS(r) != 0) ? -1 : 0;
    }
    case ParsedLine::Kind::ShellInline: {
      std::fflush(stdout);
      FILE* pp = popen(p.command.c_str(), "r");
      if (!pp) {
        std::perror("popen");
        return -1;
      }
      char* buf = nullptr;
      size_t cap = 0;
      ssize_t n;
      int status = 0;
      while ((n = getline(&buf, &cap, pp)) != -1) {
        std::string line(buf, static_cast<size_t>(n));
        if (!line.empty() && line.back() == '\n') line.pop_back();
        if (!run_line(line, exit_on_error)) std::exit(1);
        if (m_quit) break;
      }
      std::free(buf);
      if (pclose(pp) != 0) status = -1;
      return status;
    }
    case ParsedLine::Kind::Command:
      break;
  }
  std::vector<std::string> args = p.args;
  for (size_t i = 0; i < args.size(); ++i)
    if (i < p.tilde.size() && p.tilde[i]) args[i] = expand_tilde(args[i]);
  if (p.pipe.empty()) return execute(p.command, std::move(args));

  // "cmd | shell": the command's standard output goes to the shell command.
  std::fflush(stdout);
  int fd[2];
  if (pipe(fd) < 0) {
    std::perror("pipe");
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return -1;
  }
  if (pid == 0) {
    close(fd[1]);
    dup2(fd[0], 0);
    close(fd[0]);
    execl("/bin/sh", "sh", "-c", p.pipe.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fd[0]);
  int saved = dup(1);
  dup2(fd[1], 1);
  close(fd[1]);
  int r = execute(p.command, std::move(args));
  std::fflush(stdout);
  dup2(saved, 1);
  close(saved);
  int st = 0;
  waitpid(pid, &st, 0);
  return r;
}

bool Shell::run_line(const std::string& line, bool exit_on_error) {
  auto parsed = parse_line(line);
  if (!parsed) {
    std::fflush(stdout);
    std::fprintf(stderr, "diskit: %s\n", parsed.error().message.c_str());
    return !exit_on_error;
  }
  bool eoe = exit_on_error && parsed->exit_on_error;
  int r = run_parsed(*parsed, eoe);
  return !(r != 0 && eoe);
}

// ---- The guest ----

Result<void> Shell::launch() {
  if (m_guest) return make_error(EINVAL, "the disks are already open (run was called before)");
  if (m_opts.disks.empty()) return make_error(EINVAL, "no disk was added: use -a IMAGE");
  auto g = fs::Guest::open(m_opts.disks, !m_opts.read_only, warn_stderr);
  if (!g && !m_opts.read_only &&
      (g.error().code == EACCES || g.error().code == EROFS || g.error().code == EPERM)) {
    warn_stderr(g.error().message + "; opening the disks read-only");
    g = fs::Guest::open(m_opts.disks, false, warn_stderr);
    if (g) m_fell_back_read_only = true;
  }
  if (!g) return make_error(g.error());
  m_guest = std::move(*g);
  m_mounts = std::make_unique<fs::GuestMounts>(*m_guest);
  return {};
}

namespace {
Shell::MountHook& mount_hook() {
  static Shell::MountHook h;
  return h;
}
}  // namespace

void Shell::set_mount_hook(MountHook hook) { mount_hook() = std::move(hook); }

Result<void> Shell::mount(std::string_view device, std::string_view mountpoint, bool ro, std::string options) {
  if (mount_hook()) DK_TRY(mount_hook()(*this, std::string(device)));
  // Devices the disks do not name (/dev/VG/LV) may still be mounted by the
  // appliance's fallback mounter (fs/mount.h).
  auto found = m_guest->find(device);
  if (!found && !(found.error().code == ENOENT && fs::fallback_mounter())) return make_error(found.error());
  std::string name = found ? found->name : std::string(device);
  for (const MountRecord& r : m_records)
    if (r.device == name)
      return make_error(EBUSY, "'" + name + "' is already mounted on '" + r.mountpoint + "'");
  fs::MountOptions mo;
  mo.writable = !ro && !read_only();
  mo.warn = warn_stderr;
  DK_TRY(m_mounts->mount(name, mountpoint, mo));
  m_records.push_back({name, m_mounts->entries().back().mountpoint, std::move(options), mo.writable});
  return {};
}

Result<void> Shell::remount(std::vector<MountRecord> records) {
  DK_TRY(sync());
  m_mounts = std::make_unique<fs::GuestMounts>(*m_guest);
  m_records.clear();
  for (MountRecord& r : records) DK_TRY(mount(r.device, r.mountpoint, !r.writable, r.options));
  return {};
}

Result<void> Shell::umount(std::string_view target) {
  std::string t(target);
  size_t idx = m_records.size();
  if (t.compare(0, 5, "/dev/") == 0) {
    auto dev = m_guest->find(t);
    if (!dev && dev.error().code != ENOENT) return make_error(dev.error());
    std::string name = dev ? dev->name : t;
    for (size_t i = 0; i < m_records.size(); ++i)
      if (m_records[i].device == name) idx = i;
  } else {
    if (t.empty() || t[0] != '/') return make_error(EINVAL, "path must start with a / character");
    t = canonical_path(t);
    for (size_t i = 0; i < m_records.size(); ++i)
      if (m_records[i].mountpoint == t) idx = i;
  }
  if (idx == m_records.size()) return make_error(EINVAL, "'" + std::string(target) + "': not mounted");
  const std::string& mp = m_records[idx].mountpoint;
  for (size_t i = 0; i < m_records.size(); ++i) {
    if (i == idx) continue;
    const std::string& o = m_records[i].mountpoint;
    if ((mp == "/" && o != "/") || o.compare(0, mp.size() + 1, mp + "/") == 0)
      return make_error(EBUSY, "'" + mp + "': target is busy ('" + o + "' is mounted below it)");
  }
  std::vector<MountRecord> rest = m_records;
  rest.erase(rest.begin() + static_cast<long>(idx));
  return remount(std::move(rest));
}

Result<void> Shell::umount_all() {
  if (!m_guest) return {};
  return remount({});
}

Result<void> Shell::sync() {
  if (!m_guest) return {};
  Result<void> first = m_mounts->flush_all();
  if (m_guest->writable()) {
    for (size_t i = 0; i < m_guest->disk_count(); ++i) {
      auto r = m_guest->disk(i).flush();
      if (!r && first) first = r;
    }
  }
  return first;
}

Result<void> Shell::shutdown() {
  if (!m_guest) return {};
  Result<void> r = sync();
  m_records.clear();
  m_mounts.reset();
  // The disks are flushed again as they close.
  m_guest.reset();
  return r;
}

Result<std::vector<Shell::MountRecord>> Shell::close_disks() {
  std::vector<MountRecord> records = m_records;
  if (!m_guest) return records;
  Result<void> r = sync();
  m_records.clear();
  m_mounts.reset();
  m_guest.reset();
  if (!r) return make_error(r.error());
  return records;
}

Result<void> Shell::reopen_disks(bool shared_ro, std::vector<MountRecord> records) {
  if (m_guest) return make_error(EINVAL, "the disks are open");
  bool writable = !shared_ro && !read_only();
  auto g = fs::Guest::open(m_opts.disks, writable, warn_stderr);
  if (!g) return make_error(g.error());
  m_guest = std::move(*g);
  m_mounts = std::make_unique<fs::GuestMounts>(*m_guest);
  for (MountRecord& r : records) DK_TRY(mount(r.device, r.mountpoint, !r.writable, r.options));
  return {};
}

// ---- Paths ----

Result<fs::Mounts::Resolved> Shell::resolve(std::string_view path, bool follow) const {
  if (path.empty() || path[0] != '/') return make_error(EINVAL, "path must start with a / character");
  return m_mounts->tree().resolve(path, follow);
}

Result<std::pair<fs::Mounts::Resolved, std::string>> Shell::resolve_parent(std::string_view path) const {
  if (path.empty() || path[0] != '/') return make_error(EINVAL, "path must start with a / character");
  auto parts = fs::split_path(path);
  if (parts.empty()) return make_error(EINVAL, "'" + std::string(path) + "': the root directory has no parent");
  if (parts.back() == "..") return make_error(EINVAL, "'" + std::string(path) + "': path ends in '..'");
  std::string dir;
  for (size_t i = 0; i + 1 < parts.size(); ++i) dir += "/" + parts[i];
  auto parent = m_mounts->tree().resolve(dir.empty() ? "/" : dir, true);
  if (!parent) return make_error(parent.error().code, "'" + std::string(path) + "': " + std::strerror(parent.error().code));
  fs::Stat st = DK_TRY(parent->inode->stat());
  if (st.type() != fs::FileType::Directory)
    return make_error(ENOTDIR, "'" + std::string(path) + "': " + std::strerror(ENOTDIR));
  return std::make_pair(std::move(*parent), parts.back());
}

}  // namespace dk::tools::fish
