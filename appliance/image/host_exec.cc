#include "appliance/image/host_exec.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dk::appliance {

Result<Captured> capture(const std::vector<std::string>& argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return errno_error("fork");
  }
  if (pid == 0) {
    ::dup2(p[1], 1);
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 2);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(p[1]);
  Captured c;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    c.out.append(buf, static_cast<size_t>(n));
  }
  ::close(p[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  c.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  if (c.status == 127) return make_error(ENOENT, argv[0] + ": cannot run it");
  return c;
}

}  // namespace dk::appliance
