// tar_out: a guest directory as a tar stream through libarchive, in the
// shape `tar -C DIR -cf - .` gives (GNU format, members "./", "./a", ...).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "fs/copy/copy_internal.h"
#include "fs/walk.h"

namespace dk::fs {
using namespace copy_detail;

Result<Compression> parse_compression(std::string_view name) {
  static const std::pair<std::string_view, Compression> kNames[] = {
      {"none", Compression::None}, {"gzip", Compression::Gzip},         {"bzip2", Compression::Bzip2},
      {"xz", Compression::Xz},     {"lzop", Compression::Lzop},         {"compress", Compression::Compress},
      {"zstd", Compression::Zstd},
  };
  for (auto& [n, c] : kNames)
    if (n == name) return c;
  return make_error(EINVAL, "unknown compression '" + std::string(name) +
                                "' (use gzip, bzip2, xz, lzop, compress or zstd)");
}

namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

int add_filter(archive* a, Compression c) {
  switch (c) {
    case Compression::None: return ARCHIVE_OK;
    case Compression::Gzip: return archive_write_add_filter_gzip(a);
    case Compression::Bzip2: return archive_write_add_filter_bzip2(a);
    case Compression::Xz: return archive_write_add_filter_xz(a);
    case Compression::Lzop: return archive_write_add_filter_lzop(a);
    case Compression::Compress: return archive_write_add_filter_compress(a);
    case Compression::Zstd: return archive_write_add_filter_zstd(a);
  }
  return ARCHIVE_FATAL;
}

struct TarWriter {
  archive* a;
  const std::string& archive_name;
  const TarOptions& opts;
  std::map<std::pair<FileSystem*, uint64_t>, std::string> links;
  std::vector<std::byte> buf = std::vector<std::byte>(kChunk);

  tl::unexpected<Error> lib_error(const std::string& what) const {
    const char* m = archive_error_string(a);
    int code = archive_errno(a) > 0 ? archive_errno(a) : EIO;
    return make_error(code, "'" + archive_name + "': " + what + (m ? ": " + std::string(m) : ""));
  }

  bool excluded(const std::string& member, const std::string& name) const {
    for (const std::string& p : opts.excludes)
      if (::fnmatch(p.c_str(), member.c_str(), 0) == 0 || ::fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
    return false;
  }

  Result<void> add(FileSystem* fs, Inode& inode, const std::string& gpath, std::string member, const Stat& st) {
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    const FileType t = st.type();
    if (t == FileType::Socket || t == FileType::Unknown) {
      warn_with(opts.warn, "'" + gpath + "': socket ignored");
      return {};
    }
    if (t == FileType::Directory && member.back() != '/') member += '/';
    archive_entry_set_pathname(e.get(), member.c_str());
    archive_entry_set_mode(e.get(), st.mode);
    archive_entry_set_uid(e.get(), st.uid);
    archive_entry_set_gid(e.get(), st.gid);
    archive_entry_set_mtime(e.get(), st.mtime.sec, st.mtime.nsec);
    archive_entry_set_size(e.get(), 0);
    bool data = false;
    if (t == FileType::Symlink) {
      std::string target = DK_TRY_CTX(inode.readlink(), "'" + gpath + "'");
      archive_entry_set_symlink(e.get(), target.c_str());
    } else if (t == FileType::CharDev || t == FileType::BlockDev) {
      archive_entry_set_rdev(e.get(), static_cast<dev_t>(st.rdev));
    } else if (t == FileType::Regular) {
      std::string first;
      if (st.nlink > 1) {
        auto [it, fresh] = links.emplace(std::pair{fs, inode.ino()}, member);
        if (!fresh) first = it->second;
      }
      if (!first.empty()) {
        archive_entry_set_hardlink(e.get(), first.c_str());
      } else {
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(st.size));
        data = true;
      }
    }
    if (archive_write_header(a, e.get()) < ARCHIVE_WARN) return lib_error("writing the header of '" + member + "'");
    if (!data) return {};
    uint64_t off = 0;
    while (off < st.size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), st.size - off));
      size_t got = DK_TRY_CTX(inode.read(off, std::span(buf.data(), want)), "'" + gpath + "'");
      if (got == 0) return make_error(EIO, "'" + gpath + "': shorter than its size " + std::to_string(st.size));
      if (archive_write_data(a, buf.data(), got) < 0) return lib_error("writing '" + member + "'");
      off += got;
    }
    return {};
  }
};

Result<void> write_all(archive* a, const Mounts& tree, const Mounts::Resolved& r, const Stat& top,
                       const std::string& archive_name, const TarOptions& opts) {
  TarWriter w{a, archive_name, opts, {}};
  DK_TRY(w.add(r.fs, *r.inode, r.path, "./", top));
  const size_t prefix = r.path == "/" ? 0 : r.path.size();
  DK_TRY(walk(tree, r.path, [&](const WalkEntry& e) -> Result<bool> {
    std::string member = "." + e.path.substr(prefix);
    if (w.excluded(member, e.name)) return false;
    DK_TRY(w.add(e.fs, *e.inode, e.path, member, e.st));
    return true;
  }));
  if (archive_write_close(a) != ARCHIVE_OK) return w.lib_error("finishing the archive");
  return {};
}

}  // namespace

Result<void> tar_out(const Mounts& tree, std::string_view dir, const std::string& archive_name,
                     const TarOptions& opts) {
  Mounts::Resolved r = DK_TRY(tree.resolve(dir, true));
  Stat top = DK_TRY_CTX(r.inode->stat(), "'" + std::string(dir) + "'");
  if (top.type() != FileType::Directory)
    return make_error(ENOTDIR, "'" + std::string(dir) + "': " + std::strerror(ENOTDIR));
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  if (!a) return make_error(ENOMEM, "libarchive: out of memory");
  if (archive_write_set_format_gnutar(a.get()) != ARCHIVE_OK || add_filter(a.get(), opts.compress) < ARCHIVE_WARN)
    return make_error(ENOTSUP, "'" + archive_name + "': " +
                                   std::string(archive_error_string(a.get()) ? archive_error_string(a.get())
                                                                             : "compression not supported"));
  const bool to_stdout = archive_name == "-";
  int fd = to_stdout ? STDOUT_FILENO : ::open(archive_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("'" + archive_name + "'");
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) {
    if (!to_stdout) ::close(fd);
    return make_error(EIO, "'" + archive_name + "': " + archive_error_string(a.get()));
  }
  auto res = write_all(a.get(), tree, r, top, archive_name, opts);
  a.reset();
  if (!to_stdout) {
    if (::close(fd) != 0 && res) res = errno_error("'" + archive_name + "'");
    // A half-written archive is not left behind under the requested name.
    if (!res) ::unlink(archive_name.c_str());
  }
  return res;
}

}  // namespace dk::fs
