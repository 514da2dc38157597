#include "tools/fish/guestio.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dk::tools::fish {
namespace {

constexpr size_t kChunk = 1u << 20;

std::string quoted(std::string_view p) { return "'" + std::string(p) + "'"; }

// The file at `path`, created empty (0644, root) when it does not exist.
Result<fs::InodePtr> open_or_create(Shell& sh, std::string_view path) {
  auto r = sh.resolve(path, true);
  if (r) {
    fs::Stat st = DK_TRY(at_path(r->inode->stat(), path));
    if (st.type() == fs::FileType::Directory) return make_error(EISDIR, quoted(path) + ": Is a directory");
    if (st.type() != fs::FileType::Regular) return make_error(EINVAL, quoted(path) + ": not a regular file");
    return r->inode;
  }
  if (r.error().code != ENOENT) return make_error(r.error());
  auto [parent, name] = DK_TRY(sh.resolve_parent(path));
  fs::NewFile nf;
  nf.mode = 0644;
  return DK_TRY(at_path(parent.inode->create(name, nf), path));
}

}  // namespace

Error at_path(const Error& e, std::string_view path) {
  switch (e.code) {
    case ENOENT: case EEXIST: case ENOTEMPTY: case ENOTDIR: case EISDIR: case EROFS: case ENOSPC:
    case EPERM: case EACCES: case ENAMETOOLONG: case ELOOP: case EXDEV: case EFBIG: case EMLINK:
    case EDQUOT:
      return Error{e.code, quoted(path) + ": " + std::strerror(e.code)};
    default:
      return e.with_context(quoted(path));
  }
}

Result<fs::InodePtr> open_regular(Shell& sh, std::string_view path) {
  auto r = DK_TRY(sh.resolve(path, true));
  fs::Stat st = DK_TRY(at_path(r.inode->stat(), path));
  if (st.type() == fs::FileType::Directory) return make_error(EISDIR, quoted(path) + ": Is a directory");
  return r.inode;
}

Result<std::string> read_whole(Shell& sh, std::string_view path) {
  fs::InodePtr ino = DK_TRY(open_regular(sh, path));
  return DK_TRY(at_path(fs::read_file(*ino, kMaxWholeRead), path));
}

Result<void> read_chunks(fs::Inode& inode, const std::function<Result<void>(std::string_view)>& sink) {
  std::string buf(kChunk, '\0');
  uint64_t off = 0;
  for (;;) {
    size_t got = DK_TRY(inode.read(off, std::as_writable_bytes(std::span(buf.data(), buf.size()))));
    if (got == 0) return {};
    DK_TRY(sink(std::string_view(buf.data(), got)));
    off += got;
  }
}

Result<std::string> filter_file(fs::Inode& inode, const std::vector<std::string>& argv) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0) return errno_error("pipe");
  if (pipe2(out, O_CLOEXEC) < 0) {
    close(in[0]);
    close(in[1]);
    return errno_error("pipe");
  }
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    std::vector<char*> av;
    for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  std::string output;
  // Feed stdin while draining stdout, so neither side can block the other.
  std::string pending;
  uint64_t off = 0;
  bool eof_in = false;
  std::string buf(kChunk, '\0');
  Result<void> status = {};
  int wfd = in[1];
  for (;;) {
    if (pending.empty() && !eof_in && status) {
      auto got = inode.read(off, std::as_writable_bytes(std::span(buf.data(), buf.size())));
      if (!got) {
        status = make_error(got.error());
        eof_in = true;
      } else if (*got == 0) {
        eof_in = true;
      } else {
        pending.assign(buf.data(), *got);
        off += *got;
      }
    }
    if ((eof_in || !status) && pending.empty() && wfd >= 0) {
      close(wfd);
      wfd = -1;
    }
    pollfd fds[2] = {{out[0], POLLIN, 0}, {wfd, POLLOUT, 0}};
    if (poll(fds, wfd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      char rb[4096];
      ssize_t n = read(out[0], rb, sizeof rb);
      if (n <= 0) break;
      output.append(rb, static_cast<size_t>(n));
    }
    if (wfd >= 0 && fds[1].revents) {
      ssize_t n = write(wfd, pending.data(), pending.size());
      if (n < 0) {
        close(wfd);
        wfd = -1;
        pending.clear();
        eof_in = true;
      } else {
        pending.erase(0, static_cast<size_t>(n));
      }
    }
  }
  if (wfd >= 0) close(wfd);
  close(out[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  DK_TRY(status);
  if (!WIFEXITED(st) || WEXITSTATUS(st) == 127) return make_error(ENOENT, argv[0] + ": could not be run");
  if (WEXITSTATUS(st) != 0) return make_error(EIO, argv[0] + " failed");
  return output;
}

Result<void> download_to(Shell& sh, std::string_view guest_path, const std::string& local) {
  fs::InodePtr ino = DK_TRY(open_regular(sh, guest_path));
  int fd = local == "-" ? dup(1) : ::open(local.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(local);
  std::fflush(stdout);
  auto r = read_chunks(*ino, [&](std::string_view chunk) -> Result<void> {
    size_t done = 0;
    while (done < chunk.size()) {
      ssize_t n = ::write(fd, chunk.data() + done, chunk.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(local);
      }
      done += static_cast<size_t>(n);
    }
    return {};
  });
  if (::close(fd) != 0 && r) return errno_error(local);
  return r;
}

Result<void> write_guest_file(Shell& sh, std::string_view path, std::string_view data, bool append) {
  fs::InodePtr ino = DK_TRY(open_or_create(sh, path));
  uint64_t off = 0;
  if (append) {
    off = DK_TRY(at_path(ino->stat(), path)).size;
  } else {
    DK_TRY(at_path(ino->truncate(0), path));
  }
  if (!data.empty()) DK_TRY(at_path(ino->write(off, std::as_bytes(std::span(data.data(), data.size()))), path));
  return {};
}

Result<void> upload_from(Shell& sh, const std::string& local, std::string_view path) {
  int fd = local == "-" ? dup(0) : ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(local);
  auto ino = open_or_create(sh, path);
  if (!ino) {
    ::close(fd);
    return make_error(ino.error());
  }
  Result<void> r = (*ino)->truncate(0);
  std::string buf(kChunk, '\0');
  uint64_t off = 0;
  while (r) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      r = errno_error(local);
      break;
    }
    if (n == 0) break;
    auto w = (*ino)->write(off, std::as_bytes(std::span(buf.data(), static_cast<size_t>(n))));
    if (!w) r = make_error(at_path(w.error(), path));
    off += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return r;
}

}  // namespace dk::tools::fish
