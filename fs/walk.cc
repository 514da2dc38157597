#include "fs/walk.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace dk::fs {
namespace {

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

FileSystem* mount_at(const Mounts& tree, const std::string& path) {
  FileSystem* found = nullptr;
  for (const auto& m : tree.mounts())
    if (m.mountpoint == path) found = m.fs;
  return found;
}

// Entries of directory `dir_inode` (at guest path `dir_path` on `fs`), sorted.
Result<std::vector<WalkEntry>> entries_of(const Mounts& tree, FileSystem* fs, Inode& dir_inode,
                                          const std::string& dir_path, int depth) {
  std::vector<DirEntry> ents = DK_TRY_CTX(dir_inode.readdir(), "'" + dir_path + "'");
  std::sort(ents.begin(), ents.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  std::vector<WalkEntry> out;
  out.reserve(ents.size());
  for (const DirEntry& e : ents) {
    WalkEntry w;
    w.path = join(dir_path, e.name);
    w.name = e.name;
    w.depth = depth;
    if (FileSystem* m = mount_at(tree, w.path)) {
      w.fs = m;
      w.inode = DK_TRY(m->root());
    } else {
      w.fs = fs;
      w.inode = DK_TRY_CTX(dir_inode.child(e), "'" + w.path + "'");
    }
    w.st = DK_TRY_CTX(w.inode->stat(), "'" + w.path + "'");
    out.push_back(std::move(w));
  }
  return out;
}

struct Walker {
  const Mounts& tree;
  const std::function<Result<bool>(const WalkEntry&)>& visit;
  std::set<std::pair<FileSystem*, uint64_t>> seen;

  Result<void> dir(FileSystem* fs, Inode& inode, const std::string& path, int depth) {
    auto ents = DK_TRY(entries_of(tree, fs, inode, path, depth));
    for (WalkEntry& w : ents) {
      bool descend = DK_TRY(visit(w));
      if (!descend || w.st.type() != FileType::Directory) continue;
      if (depth >= kMaxWalkDepth)
        return make_error(ELOOP, "'" + w.path + "': directory tree is deeper than " +
                                     std::to_string(kMaxWalkDepth) + " levels");
      if (!seen.insert({w.fs, w.inode->ino()}).second)
        return make_error(ELOOP, "'" + w.path + "': directory cycle in the file system");
      DK_TRY(dir(w.fs, *w.inode, w.path, depth + 1));
    }
    return {};
  }
};

// The start directory as the user wrote it, without trailing slashes
// (paths below it are printed under this name, as virt-ls does).
std::string display_dir(std::string_view dir) {
  std::string d(dir);
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (d.empty()) d = "/";
  return d;
}

}  // namespace

Result<void> walk(const Mounts& tree, std::string_view dir,
                  const std::function<Result<bool>(const WalkEntry&)>& visit) {
  Mounts::Resolved r = DK_TRY(tree.resolve(dir, true));
  Stat st = DK_TRY_CTX(r.inode->stat(), "'" + std::string(dir) + "'");
  if (st.type() != FileType::Directory)
    return make_error(ENOTDIR, "'" + std::string(dir) + "': " + std::strerror(ENOTDIR));
  Walker w{tree, visit, {}};
  w.seen.insert({r.fs, r.inode->ino()});
  return w.dir(r.fs, *r.inode, display_dir(dir), 1);
}

Result<std::vector<WalkEntry>> list_directory(const Mounts& tree, std::string_view dir) {
  Mounts::Resolved r = DK_TRY(tree.resolve(dir, true));
  Stat st = DK_TRY_CTX(r.inode->stat(), "'" + std::string(dir) + "'");
  if (st.type() != FileType::Directory)
    return make_error(ENOTDIR, "'" + std::string(dir) + "': " + std::strerror(ENOTDIR));
  return entries_of(tree, r.fs, *r.inode, display_dir(dir), 1);
}

}  // namespace dk::fs
