#include "tools/fish/prepared.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tools/fish/tokenize.h"

namespace dk::tools::fish {
namespace {

std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    size_t j = s.find(':', i);
    out.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

// Runs a host tool, its output discarded; the error carries its last
// stderr line.
Result<void> run_host(const std::vector<std::string>& argv) {
  int errpipe[2];
  if (pipe(errpipe) != 0) return errno_error("pipe");
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(errpipe[1], 2);
    close(errpipe[0]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "%s: %s\n", argv[0].c_str(), std::strerror(errno));
    _exit(127);
  }
  close(errpipe[1]);
  std::string err;
  char buf[4096];
  ssize_t n;
  while ((n = read(errpipe[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(n));
  close(errpipe[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return {};
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  size_t nl = err.rfind('\n');
  std::string line = nl == std::string::npos ? err : err.substr(nl + 1);
  return make_error(EIO, argv[0] + ": " + (line.empty() ? "failed" : line));
}

Result<void> alloc_disk(const std::string& path, int64_t size) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("open: " + path);
  if (ftruncate(fd, size) != 0) {
    int e = errno;
    close(fd);
    return errno_error("truncate: " + path, e);
  }
  close(fd);
  return {};
}

Result<int64_t> size_param(const std::vector<std::string>& p, size_t i) {
  if (i >= p.size() || p[i].empty()) return int64_t{100} << 20;
  int64_t v = DK_TRY(parse_integer(p[i], "size"));
  if (v < (1 << 20)) return make_error(EINVAL, "could not parse size '" + p[i] + "': must be at least 1M");
  return v;
}

Result<std::string> parttype_param(const std::vector<std::string>& p, size_t i) {
  std::string t = i < p.size() && !p[i].empty() ? p[i] : "mbr";
  if (t == "mbr" || t == "msdos") return std::string("msdos");
  if (t == "gpt" || t == "efi") return std::string("gpt");
  return make_error(EINVAL, "unknown partition type '" + t + "': use mbr or gpt");
}

// part-disk on the image file, as the appliance would do it.
Result<void> part_disk(const std::string& path, const std::string& parted_type) {
  return run_host({"parted", "-s", "--", path, "mklabel", parted_type, "mkpart",
                   parted_type == "gpt" ? "p1" : "primary", "128s", "-128s"});
}

// The one partition's byte offset and size (read back with fs/part).
Result<std::pair<uint64_t, uint64_t>> first_partition(const std::string& path) {
  auto g = DK_TRY(fs::Guest::open({{path, "raw"}}, false, [](const std::string&) {}));
  auto parts = g->partitions();
  if (parts.empty()) return make_error(EIO, "'" + path + "': the new partition table has no partition");
  return std::make_pair(parts[0].offset, parts[0].size);
}

bool host_fs(const std::string& fs) { return fs == "ext2" || fs == "ext3" || fs == "ext4" || fs == "vfat"; }

// mke2fs / mkfs.fat at the partition's offset, without a loop device.
Result<void> mkfs_on_host(const std::string& path, const std::string& fs) {
  auto [off, size] = DK_TRY(first_partition(path));
  if (fs == "vfat")
    return run_host({"mkfs.fat", "-I", "--offset=" + std::to_string(off / 512), path, std::to_string(size / 1024)});
  return run_host({"mke2fs", "-q", "-t", fs, "-F", "-E", "offset=" + std::to_string(off), path,
                   std::to_string(size / 1024) + "k"});
}

Result<void> check_lv_name(const std::string& name) {
  std::string rest = name.compare(0, 5, "/dev/") == 0 ? name.substr(5) : name;
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size())
    return make_error(EINVAL, "incorrect format for LV name, use '/dev/VG/LV'");
  return {};
}

}  // namespace

std::string prepared_disk_help() {
  return "List of available prepared disk images:\n\n"
         "diskit fish -N disk[:SIZE] - create a blank disk\n"
         "  SIZE: the size of the disk image (default 100M)\n\n"
         "diskit fish -N part[:SIZE[:PARTTYPE]] - create a partitioned disk\n"
         "  PARTTYPE: mbr (default) or gpt\n\n"
         "diskit fish -N fs[:FS[:SIZE[:PARTTYPE]]] - create a filesystem\n"
         "  FS: ext2 (default), ext3, ext4, vfat, xfs, btrfs, exfat, ntfs\n\n"
         "diskit fish -N lv[:NAME[:SIZE[:PARTTYPE]]] - create a disk with logical volume\n"
         "  NAME: /dev/VG/LV (default)\n\n"
         "diskit fish -N lvfs[:NAME[:FS[:SIZE[:PARTTYPE]]]] - create a disk with a filesystem on an LV\n\n"
         "The image is raw and called test1.img, test2.img... unless given as\n"
         "-N FILENAME=TYPE[:...]. Types other than disk, part, and fs with ext2/3/4\n"
         "or vfat start the appliance.\n";
}

Result<PreparedDisk> prepare_disk(const std::string& spec, size_t nth, const std::string& device) {
  std::string body = spec, file = "test" + std::to_string(nth) + ".img";
  size_t eq = spec.find('=');
  if (eq != std::string::npos && spec.find(':') > eq) {
    file = spec.substr(0, eq);
    body = spec.substr(eq + 1);
  }
  std::vector<std::string> p = split_colons(body);
  std::string type = p[0];
  p.erase(p.begin());
  PreparedDisk out;
  out.disk = {file, "raw"};
  std::string part = device + "1";
  if (type == "disk") {
    DK_TRY(alloc_disk(file, DK_TRY(size_param(p, 0))));
  } else if (type == "part") {
    std::string pt = DK_TRY(parttype_param(p, 1));
    DK_TRY(alloc_disk(file, DK_TRY(size_param(p, 0))));
    DK_TRY(part_disk(file, pt));
  } else if (type == "fs") {
    std::string fs = !p.empty() && !p[0].empty() ? p[0] : "ext2";
    std::string pt = DK_TRY(parttype_param(p, 2));
    DK_TRY(alloc_disk(file, DK_TRY(size_param(p, 1))));
    DK_TRY(part_disk(file, pt));
    if (host_fs(fs))
      DK_TRY(mkfs_on_host(file, fs));
    else
      out.post_launch.push_back({"mkfs", fs, part});
  } else if (type == "lv" || type == "lvfs") {
    // lvfs:FS is accepted for lvfs:/dev/VG/LV:FS when the first
    // parameter is no LV name.
    if (type == "lvfs" && !p.empty() && !p[0].empty() && p[0][0] != '/') p.insert(p.begin(), "");
    std::string name = !p.empty() && !p[0].empty() ? p[0] : "/dev/VG/LV";
    DK_TRY(check_lv_name(name));
    std::string rest = name.compare(0, 5, "/dev/") == 0 ? name.substr(5) : name;
    std::string vg = rest.substr(0, rest.find('/')), lv = rest.substr(rest.find('/') + 1);
    size_t k = type == "lvfs" ? 2 : 1;
    std::string fs = type == "lvfs" && p.size() > 1 && !p[1].empty() ? p[1] : "ext2";
    std::string pt = DK_TRY(parttype_param(p, k + 1));
    DK_TRY(alloc_disk(file, DK_TRY(size_param(p, k))));
    DK_TRY(part_disk(file, pt));
    out.post_launch.push_back({"pvcreate", part});
    out.post_launch.push_back({"vgcreate", vg, part});
    out.post_launch.push_back({"lvcreate-free", lv, vg, "100"});
    if (type == "lvfs") out.post_launch.push_back({"mkfs", fs, "/dev/" + vg + "/" + lv});
  } else {
    return make_error(EINVAL, "-N " + spec + ": unknown prepared disk type '" + type + "'; use -N help");
  }
  return out;
}

}  // namespace dk::tools::fish
