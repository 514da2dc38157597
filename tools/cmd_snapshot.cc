// diskit snapshot: qemu-img 7.2's `snapshot` (list, create, apply, delete
// internal snapshots). Messages and exit status are qemu-img's.
#include <sys/time.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "tools/command.h"
#include "tools/human.h"
#include "tools/image_args.h"

namespace dk::tools {
namespace {

// QEMU keeps names in a 256-byte buffer (pstrcpy truncates).
constexpr size_t kMaxNameBytes = 255;

struct SnapshotOptions {
  std::string format;  // diskit extension: qemu-img 7.2's snapshot has no -f
  bool quiet = false;
  bool force_share = false;
  bool list = false;
  std::optional<std::string> apply, create, remove;
  std::string filename;
  std::vector<std::string> extra;
};

std::string errno_text(int code) { return std::strerror(code); }

Result<int> list_snapshots(const fmt::Layer& layer) {
  std::vector<fmt::SnapshotInfo> snaps = layer.snapshots();
  // qemu-img prints nothing at all for an image without snapshots.
  if (snaps.empty()) return 0;
  std::string out = "Snapshot list:\n" + snapshot_table_header() + "\n";
  for (const fmt::SnapshotInfo& sn : snaps) out += snapshot_table_row(sn) + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

Result<int> create_snapshot(fmt::Layer& layer, const std::string& name) {
  fmt::SnapshotInfo sn;
  sn.name = name.substr(0, std::min(name.size(), kMaxNameBytes));
  struct timeval tv {};
  gettimeofday(&tv, nullptr);
  sn.date_sec = static_cast<uint64_t>(tv.tv_sec);
  sn.date_nsec = static_cast<uint64_t>(tv.tv_usec) * 1000;
  sn.icount = 0;  // what qemu-img records (its snapshot info is zero-filled)
  auto r = layer.snapshot_create(sn);
  if (!r) {
    const int code = r.error().code == ENOSYS ? ENOTSUP : r.error().code;
    return make_error(code, "Could not create snapshot '" + name + "': " + std::to_string(-code) + " (" +
                                errno_text(code) + ")");
  }
  return 0;
}

Result<int> apply_snapshot(fmt::Layer& layer, const std::string& name) {
  auto r = layer.snapshot_apply(name);
  if (!r) {
    const std::string why = r.error().code == ENOSYS ? "Block driver does not support snapshots"
                                                     : "Failed to load snapshot: " + errno_text(r.error().code);
    return make_error(r.error().code, "Could not apply snapshot '" + name + "': " + why);
  }
  return 0;
}

Result<int> delete_snapshot(fmt::Layer& layer, const std::string& name) {
  // qemu-img looks the snapshot up by name only (bdrv_snapshot_find), then
  // deletes the one with that id and name.
  std::optional<fmt::SnapshotInfo> found;
  for (const fmt::SnapshotInfo& sn : layer.snapshots())
    if (!found && sn.name == name) found = sn;
  if (!found) return make_error(ENOENT, "Could not delete snapshot '" + name + "': snapshot not found");
  auto r = layer.snapshot_delete(found->id, found->name);
  if (!r) return make_error(r.error().code, "Could not delete snapshot '" + name + "': " + r.error().message);
  return 0;
}

Result<int> run_snapshot(const SnapshotOptions& o) {
  int actions = int(o.list) + int(bool(o.apply)) + int(bool(o.create)) + int(bool(o.remove));
  if (actions > 1) return make_error(EINVAL, "Cannot mix '-l', '-a', '-c', '-d'");
  for (const std::string& e : o.extra)
    if (e.size() > 1 && e[0] == '-' && e != "--") return make_error(EINVAL, "unrecognized option '" + e + "'");
  if (o.filename.empty() || !o.extra.empty()) return make_error(EINVAL, "Expecting one image file name");
  // Like qemu-img, only -l opens the image read-only; without an action the
  // image is opened for writing and left alone.
  fmt::OpenOptions oo;
  oo.writable = !o.list;
  oo.force_share = o.force_share;
  if (o.force_share && oo.writable)
    return make_error(EINVAL, "Could not open '" + o.filename + "': force-share=on can only be used with read-only images");
  auto layer = fmt::open_image(o.filename, o.format, oo);
  if (!layer) return make_error(open_error(o.filename, layer.error()));
  if (oo.writable && o.format.empty() && (*layer)->format_name() == "raw") {
    // qemu-img warns on each open; reverting reopens the image once more.
    for (int i = o.apply ? 2 : 1; i > 0; --i)
      std::fprintf(stderr,
                   "WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
                   "         Automatically detecting the format is dangerous for raw images, write operations on "
                   "block 0 will be restricted.\n"
                   "         Specify the 'raw' format explicitly to remove the restrictions.\n",
                   o.filename.c_str());
  }
  if (o.list) return list_snapshots(**layer);
  if (o.create) return create_snapshot(**layer, *o.create);
  if (o.apply) return apply_snapshot(**layer, *o.apply);
  if (o.remove) return delete_snapshot(**layer, *o.remove);
  return 0;
}

}  // namespace

Command add_snapshot(CLI::App& parent) {
  auto o = std::make_shared<SnapshotOptions>();
  Command c;
  c.app = parent.add_subcommand("snapshot", "List, create, apply or delete internal snapshots");
  c.app->add_option("-f", o->format, "Image format (probed when omitted; not in qemu-img 7.2)");
  c.app->add_flag("-q", o->quiet, "Quiet (nothing is printed on success anyway)");
  c.app->add_flag("-U,--force-share", o->force_share, "Open the image shared (only with -l)");
  c.app->add_flag("-l", o->list, "List the snapshots");
  c.app->add_option("-a", o->apply, "Revert the image to snapshot ID or NAME");
  c.app->add_option("-c", o->create, "Create a snapshot named NAME");
  c.app->add_option("-d", o->remove, "Delete the snapshot named NAME");
  c.app->add_option("filename", o->filename, "Image file");
  c.app->allow_extras();
  c.run = [o, app = c.app]() -> Result<int> {
    o->extra = app->remaining();
    return run_snapshot(*o);
  };
  return c;
}

}  // namespace dk::tools
