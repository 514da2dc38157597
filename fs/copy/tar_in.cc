// tar_in: a tar stream (ustar, pax or GNU; any filter libarchive reads) extracted
// into a guest directory. Member names are checked to stay below it; a
// regular archive file is read twice so that a bad member found in the
// first pass changes nothing.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "fs/copy/copy_internal.h"

namespace dk::fs {
using namespace copy_detail;
namespace {

struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ReadDeleter>;

tl::unexpected<Error> lib_error(archive* a, const std::string& name, const std::string& what) {
  const char* m = archive_error_string(a);
  int code = archive_errno(a) > 0 ? archive_errno(a) : EIO;
  return make_error(code, "'" + name + "': " + what + (m ? ": " + std::string(m) : ""));
}

Result<ArchivePtr> open_archive(const std::string& name) {
  ArchivePtr a(archive_read_new());
  if (!a) return make_error(ENOMEM, "libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());  // tar only: format_all takes any text for an mtree spec
  int r = name == "-" ? archive_read_open_fd(a.get(), 0, 64 * 1024)
                      : archive_read_open_filename(a.get(), name.c_str(), 64 * 1024);
  if (r != ARCHIVE_OK) return lib_error(a.get(), name, "cannot open the archive");
  return a;
}

// The components of a member name below the target; empty for "./".
// Absolute names and ".." are refused: they would land outside the target.
Result<std::vector<std::string>> member_components(const char* raw) {
  if (!raw) return make_error(EINVAL, "a member has no name");
  std::string_view s(raw);
  if (!s.empty() && s.front() == '/')
    return make_error(EINVAL, "'" + std::string(s) + "': absolute member name refused");
  std::vector<std::string> out;
  for (std::string& c : split_path(s)) {
    if (c == "..") return make_error(EINVAL, "'" + std::string(s) + "': member name with '..' refused");
    if (c.size() > kMaxNameLength) return make_error(ENAMETOOLONG, "'" + std::string(s) + "': name too long");
    out.push_back(std::move(c));
  }
  return out;
}

bool creatable(mode_t type) { return type == AE_IFREG || type == AE_IFDIR || type == AE_IFLNK; }

// First pass: every member name and type is acceptable; what it will create.
Result<void> check_archive(const std::string& name, const Mounts& tree, const GuestDir& top) {
  ArchivePtr a = DK_TRY(open_archive(name));
  std::vector<Planned> plan;
  uint64_t bytes = 0;
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return lib_error(a.get(), name, "reading the archive");
    auto comps = DK_TRY_CTX(member_components(archive_entry_pathname(e)), "'" + name + "'");
    const char* hl = archive_entry_hardlink(e);
    if (hl) DK_TRY_CTX(member_components(hl), "'" + name + "'");
    mode_t type = archive_entry_filetype(e);
    if (!hl && !creatable(type))
      return make_error(ENOTSUP, "'" + name + "': '" + archive_entry_pathname(e) +
                                     "': devices, FIFOs and sockets cannot be created in the guest (not supported)");
    bytes += (static_cast<uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0)) + 4095) / 4096 * 4096 + 4096;
    if (!comps.empty()) plan.push_back({comps, type == AE_IFDIR && !hl});
  }
  DK_TRY(check_conflicts(tree, top, plan));
  return check_space(tree, top.path, bytes);
}

struct Extractor {
  const Mounts& tree;
  const GuestDir top;
  const std::string& name;
  const TarOptions& opts;
  archive* a = nullptr;
  std::map<std::string, GuestDir> dirs;  // by joined components
  std::vector<std::pair<GuestDir, Timespec>> dir_times;

  // The directory holding comps[0..n) (made with 0755 when missing, as tar does).
  Result<GuestDir> dir_of(const std::vector<std::string>& comps, size_t n) {
    GuestDir cur = top;
    std::string key;
    for (size_t i = 0; i < n; ++i) {
      key += "/" + comps[i];
      auto it = dirs.find(key);
      if (it != dirs.end()) { cur = it->second; continue; }
      cur = DK_TRY(enter_dir(tree, cur, comps[i], true, NewFile{0755, 0, 0}));
      dirs[key] = cur;
    }
    return cur;
  }

  Result<InodePtr> new_file(const GuestDir& parent, const std::string& leaf, const NewFile& attr) {
    DK_TRY(clear_for_file(parent, leaf));
    return DK_TRY_CTX(parent.inode->create(leaf, attr), "'" + join_guest(parent.path, leaf) + "'");
  }

  Result<void> file_data(Inode& f, const std::string& gpath, la_int64_t size) {
    auto next = [&](uint64_t& at, std::span<const std::byte>& data) -> Result<bool> {
      const void* p = nullptr;
      size_t n = 0;
      la_int64_t off = 0;
      int r = archive_read_data_block(a, &p, &n, &off);
      if (r == ARCHIVE_EOF) return false;
      if (r < ARCHIVE_WARN || off < 0) return lib_error(a, name, "reading the data of '" + gpath + "'");
      at = static_cast<uint64_t>(off);
      data = std::span(static_cast<const std::byte*>(p), n);
      return true;
    };
    return write_guest_data(f, gpath, next, static_cast<uint64_t>(std::max<la_int64_t>(size, 0)));
  }

  // A hard link member: a copy of the data of the member it names.
  Result<void> copy_link(Inode& f, const std::string& gpath, const char* target) {
    auto comps = DK_TRY_CTX(member_components(target), "'" + name + "'");
    if (comps.empty()) return make_error(EINVAL, "'" + name + "': hard link to the top directory");
    GuestDir d = DK_TRY(dir_of(comps, comps.size() - 1));
    InodePtr src = DK_TRY(lookup_opt(d, comps.back()));
    if (!src) return make_error(ENOENT, "'" + gpath + "': hard link target '" + target + "' is not in the archive");
    Stat st = DK_TRY(src->stat());
    if (st.type() != FileType::Regular) return make_error(EINVAL, "'" + gpath + "': hard link to a non-file");
    std::vector<std::byte> buf(kChunk);
    uint64_t off = 0;
    auto next = [&](uint64_t& at, std::span<const std::byte>& data) -> Result<bool> {
      size_t got = DK_TRY(src->read(off, buf));
      if (got == 0) return false;
      at = off;
      off += got;
      data = std::span<const std::byte>(buf.data(), got);
      return true;
    };
    return write_guest_data(f, gpath, next, st.size);
  }

  Result<void> member(archive_entry* e) {
    auto comps = DK_TRY_CTX(member_components(archive_entry_pathname(e)), "'" + name + "'");
    const mode_t type = archive_entry_filetype(e);
    const char* hl = archive_entry_hardlink(e);
    NewFile attr{static_cast<uint32_t>(archive_entry_perm(e)) & 07777,
                 opts.preserve_owner ? static_cast<uint32_t>(archive_entry_uid(e)) : 0,
                 opts.preserve_owner ? static_cast<uint32_t>(archive_entry_gid(e)) : 0};
    std::optional<std::pair<uint32_t, uint32_t>> owner;
    if (opts.preserve_owner) owner = std::pair{attr.uid, attr.gid};
    Timespec mt{archive_entry_mtime(e), static_cast<uint32_t>(archive_entry_mtime_nsec(e))};
    if (comps.empty()) {  // "./": the target itself
      if (type == AE_IFDIR) {
        DK_TRY(set_attrs(*top.inode, top.path, attr.mode, owner, std::nullopt, std::nullopt));
        dir_times.emplace_back(top, mt);
      }
      return {};
    }
    GuestDir parent = DK_TRY(dir_of(comps, comps.size() - 1));
    const std::string& leaf = comps.back();
    const std::string gpath = join_guest(parent.path, leaf);
    if (hl) {
      InodePtr f = DK_TRY(new_file(parent, leaf, attr));
      DK_TRY(copy_link(*f, gpath, hl));
      return set_attrs(*f, gpath, attr.mode, owner, mt, mt);
    }
    switch (type) {
      case AE_IFDIR: {
        GuestDir d = DK_TRY(dir_of(comps, comps.size()));
        DK_TRY(set_attrs(*d.inode, d.path, attr.mode, owner, std::nullopt, std::nullopt));
        dir_times.emplace_back(d, mt);
        return {};
      }
      case AE_IFREG: {
        InodePtr f = DK_TRY(new_file(parent, leaf, attr));
        DK_TRY(file_data(*f, gpath, archive_entry_size(e)));
        return set_attrs(*f, gpath, attr.mode, owner, mt, mt);
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        DK_TRY(clear_for_file(parent, leaf));
        attr.mode = 0777;
        InodePtr l = DK_TRY_CTX(parent.inode->symlink(leaf, target ? target : "", attr), "'" + gpath + "'");
        return set_attrs(*l, gpath, std::nullopt, std::nullopt, mt, mt);
      }
      default:
        return make_error(ENOTSUP, "'" + name + "': '" + archive_entry_pathname(e) +
                                       "': devices, FIFOs and sockets cannot be created in the guest (not supported)");
    }
  }
};

}  // namespace

Result<void> tar_in(const Mounts& tree, const std::string& archive_name, std::string_view dir,
                    const TarOptions& opts) {
  GuestDir top = DK_TRY(open_guest_dir(tree, dir));
  struct stat st;
  const bool two_pass = archive_name != "-" && ::stat(archive_name.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (two_pass) DK_TRY(check_archive(archive_name, tree, top));
  else DK_TRY(check_space(tree, top.path, 0));  // at least: refuse a read-only target up front
  ArchivePtr a = DK_TRY(open_archive(archive_name));
  Extractor x{tree, top, archive_name, opts, a.get(), {}, {}};
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return lib_error(a.get(), archive_name, "reading the archive");
    DK_TRY(x.member(e));
  }
  for (auto i = x.dir_times.rbegin(); i != x.dir_times.rend(); ++i)
    DK_TRY(set_attrs(*i->first.inode, i->first.path, std::nullopt, std::nullopt, i->second, i->second));
  return {};
}

}  // namespace dk::fs
