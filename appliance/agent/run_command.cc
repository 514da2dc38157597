// run_command: fork + exec without a shell, feeding stdin and collecting
// stdout/stderr through pipes with one poll loop (so a tool that writes a
// lot to both never blocks on a full pipe).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "appliance/agent/op.h"

namespace dk::agent {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

}  // namespace

Result<CommandResult> run_command(const std::vector<std::string>& argv, const std::string& stdin_data,
                                  const std::function<bool()>& cancelled) {
  if (argv.empty()) return make_error(EINVAL, "empty command");
  Pipe in, out, err, status;
  if (::pipe2(in.fd, O_CLOEXEC) < 0 || ::pipe2(out.fd, O_CLOEXEC) < 0 || ::pipe2(err.fd, O_CLOEXEC) < 0 ||
      ::pipe2(status.fd, O_CLOEXEC) < 0)
    return errno_error("pipe");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    ::setpgid(0, 0);  // a cancel stops the tool and whatever it started
    ::dup2(in.fd[0], 0);
    ::dup2(out.fd[1], 1);
    ::dup2(err.fd[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(args[0], args.data());
    int e = errno;
    (void)!::write(status.fd[1], &e, sizeof e);
    ::_exit(127);
  }
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);
  status.close_end(1);
  int exec_errno = 0;
  ssize_t n;
  while ((n = ::read(status.fd[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  CommandResult r;
  size_t fed = 0;
  if (n > 0 || stdin_data.empty()) in.close_end(1);
  char buf[65536];
  bool stopped = false;
  std::chrono::steady_clock::time_point kill_at;
  while (out.fd[0] >= 0 || err.fd[0] >= 0 || in.fd[1] >= 0) {
    pollfd p[3] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}, {in.fd[1], POLLOUT, 0}};
    int pr = ::poll(p, 3, cancelled ? 100 : -1);
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (cancelled && !stopped && cancelled()) {
      stopped = true;
      ::kill(-pid, SIGTERM);
      kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    } else if (stopped && std::chrono::steady_clock::now() > kill_at) {
      ::kill(-pid, SIGKILL);
    }
    if (pr == 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::read(p[i].fd, buf, sizeof buf);
      if (got > 0)
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
      else if (got == 0 || errno != EINTR)
        (i == 0 ? out : err).close_end(0);
    }
    if (p[2].fd >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in.fd[1], stdin_data.data() + fed, stdin_data.size() - fed);
      if (w > 0) fed += static_cast<size_t>(w);
      if ((w < 0 && errno != EINTR && errno != EAGAIN) || fed == stdin_data.size()) in.close_end(1);
    }
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (n > 0) return make_error(exec_errno, argv[0] + ": " + std::strerror(exec_errno));
  if (stopped) return make_error(ECANCELED, "cancelled");
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

}  // namespace dk::agent
