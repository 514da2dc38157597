// Making and checking file systems: mkfs, mke2fs, mkswap, resize2fs,
// e2fsck, fsck, zerofree. Each builds the same command line libguestfs'
// daemon runs, so the results (and the tools' messages) match guestfish.
#include <cerrno>
#include <string>
#include <vector>

#include "appliance/agent/ops/common.h"

namespace dk::agent::ops {
namespace {

bool is_ext(const std::string& t) { return t == "ext2" || t == "ext3" || t == "ext4"; }

bool is_power_of_2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

Result<json> op_mkfs(Context& ctx) {
  std::string fstype = DK_TRY(str_arg(ctx, "fstype"));
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  auto blocksize = DK_TRY(opt_int(ctx, "blocksize"));
  auto features = DK_TRY(opt_str(ctx, "features"));
  auto inode = DK_TRY(opt_int(ctx, "inode"));
  auto sectorsize = DK_TRY(opt_int(ctx, "sectorsize"));
  auto label = DK_TRY(opt_str(ctx, "label"));

  // The tool per type (mkfs -t would need util-linux's wrapper, which eats
  // some options; libguestfs calls mke2fs directly for the same reason).
  std::vector<std::string> argv;
  if (is_ext(fstype)) {
    argv = {"mke2fs", "-t", fstype, "-F"};
  } else if (fstype == "xfs") {
    argv = {"mkfs.xfs", "-f"};
  } else if (fstype == "btrfs") {
    argv = {"mkfs.btrfs", "-f"};
  } else if (fstype == "vfat" || fstype == "msdos" || fstype == "fat") {
    argv = {"mkfs.fat", "-I"};
    if (fstype == "vfat" || fstype == "fat") {
      // mkfs -t vfat picks FAT12/16/32 by size like mkfs.vfat.
    }
  } else if (fstype == "exfat") {
    argv = {"mkfs.exfat"};
  } else if (fstype == "ntfs") {
    argv = {"mkntfs", "-Q", "-F"};  // quick (no zeroing, no bad-block scan); -F: not a partition is fine
  } else if (fstype == "swap") {
    argv = {"mkswap", "-f"};
  } else {
    return make_error(EINVAL, "mkfs: " + fstype + ": unsupported file system type (ext2, ext3, ext4, xfs, "
                                                  "btrfs, vfat, exfat, ntfs)");
  }
  if (blocksize) {
    if (!is_power_of_2(*blocksize)) return make_error(EINVAL, "block size must be > 0 and a power of 2");
    if (fstype == "vfat" || fstype == "msdos" || fstype == "fat") {
      // A cluster size in 512-byte sectors, as libguestfs maps it.
      int64_t spc = *blocksize / 512;
      if (spc < 1 || spc > 128)
        return make_error(EINVAL, "unsupported cluster size for " + fstype + " filesystem (requested cluster size = " +
                                      std::to_string(*blocksize) + ", sector size = 512, trying sectors per cluster = " +
                                      std::to_string(spc) + ")");
      argv.insert(argv.end(), {"-s", std::to_string(spc)});
    } else if (fstype == "ntfs") {
      argv.insert(argv.end(), {"-c", std::to_string(*blocksize)});
    } else if (fstype == "btrfs") {
      return make_error(EINVAL, "blocksize cannot be set on btrfs filesystems, use 'mkfs-btrfs'");
    } else if (fstype == "exfat") {
      argv.insert(argv.end(), {"-c", std::to_string(*blocksize)});
    } else {
      argv.insert(argv.end(), {"-b", std::to_string(*blocksize)});
    }
  }
  if (features) argv.insert(argv.end(), {"-O", *features});
  if (inode) {
    if (!is_ext(fstype)) return make_error(EINVAL, "inode size (-I) can only be set on ext2/3/4 filesystems");
    if (*inode <= 0) return make_error(EINVAL, "inode size must be larger than zero");
    argv.insert(argv.end(), {"-I", std::to_string(*inode)});
  }
  if (sectorsize) {
    if (fstype != "ufs") return make_error(EINVAL, "sector size (-S) can only be set on ufs filesystems");
  }
  if (label) {
    if (fstype == "vfat" || fstype == "msdos" || fstype == "fat") {
      if (label->size() > 11) return make_error(ERANGE, "vfat labels are limited to 11 bytes");
      argv.insert(argv.end(), {"-n", *label});
    } else if (fstype == "exfat") {
      argv.insert(argv.end(), {"-L", *label});
    } else if (fstype == "xfs" && label->size() > 12) {
      return make_error(ERANGE, "xfs labels are limited to 12 bytes");
    } else if (is_ext(fstype) && label->size() > 16) {
      return make_error(ERANGE, "ext2/3/4 labels are limited to 16 bytes");
    } else {
      argv.insert(argv.end(), {"-L", *label});
    }
  }
  argv.push_back(dev);
  DK_TRY(run_tool(ctx, argv, fstype + ": " + user_name(ctx, dev)));
  return json(nullptr);
}

// mke2fs's optional arguments that map to one option each.
struct Mke2fsOpt {
  const char* name;
  const char* flag;
};

Result<json> op_mke2fs(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  std::vector<std::string> argv = {"mke2fs"};
  static const Mke2fsOpt kInts[] = {{"blocksize", "-b"},     {"fragsize", "-f"},       {"blockspergroup", "-g"},
                                    {"numberofgroups", "-G"}, {"inodesize", "-I"},      {"bytesperinode", "-i"},
                                    {"reservedblockspercentage", "-m"}};
  for (const auto& o : kInts)
    if (auto v = DK_TRY(opt_int(ctx, o.name))) {
      if (*v < 0) return make_error(EINVAL, std::string(o.name) + " must be >= 0");
      argv.insert(argv.end(), {o.flag, std::to_string(*v)});
    }
  static const Mke2fsOpt kStrings[] = {{"label", "-L"}, {"lastmounteddir", "-M"}, {"creatoros", "-o"},
                                       {"fstype", "-t"}, {"usagetype", "-T"},     {"uuid", "-U"},
                                       {"journaldevice", "-J"}};
  for (const auto& o : kStrings)
    if (auto v = DK_TRY(opt_str(ctx, o.name))) {
      std::string value = *v;
      if (std::string(o.name) == "journaldevice") {
        std::string jdev = DK_TRY(check_device(ctx, value, DevKind::Any));
        value = "device=" + jdev;
      }
      argv.insert(argv.end(), {o.flag, value});
    }
  if (DK_TRY(opt_bool(ctx, "forcecreate")).value_or(false)) argv.push_back("-F");
  if (DK_TRY(opt_bool(ctx, "writesbcandgrouponly")).value_or(false)) argv.push_back("-S");
  if (DK_TRY(opt_bool(ctx, "testfs")).value_or(false)) argv.push_back("-n");
  // Extended options.
  std::string ext;
  auto add_ext = [&](const std::string& s) { ext += (ext.empty() ? "" : ",") + s; };
  if (auto v = DK_TRY(opt_bool(ctx, "lazyitableinit"))) add_ext(std::string("lazy_itable_init=") + (*v ? "1" : "0"));
  if (auto v = DK_TRY(opt_bool(ctx, "lazyjournalinit"))) add_ext(std::string("lazy_journal_init=") + (*v ? "1" : "0"));
  if (auto v = DK_TRY(opt_bool(ctx, "discard"))) add_ext(*v ? "discard" : "nodiscard");
  if (auto v = DK_TRY(opt_int(ctx, "stridesize"))) add_ext("stride=" + std::to_string(*v));
  if (auto v = DK_TRY(opt_int(ctx, "stripewidth"))) add_ext("stripe_width=" + std::to_string(*v));
  if (auto v = DK_TRY(opt_int(ctx, "maxonlineresize"))) add_ext("resize=" + std::to_string(*v));
  if (!ext.empty()) argv.insert(argv.end(), {"-E", ext});
  // Feature booleans: true adds the feature, false removes it.
  static const std::pair<const char*, const char*> kFeatures[] = {
      {"extent", "extent"},     {"filetype", "filetype"},         {"flexbg", "flex_bg"},
      {"hasjournal", "has_journal"}, {"journaldev", "journal_dev"}, {"largefile", "large_file"},
      {"quota", "quota"},       {"resizeinode", "resize_inode"},  {"sparsesuper", "sparse_super"},
      {"uninitbg", "uninit_bg"}};
  std::string feats;
  for (auto& [name, feature] : kFeatures)
    if (auto v = DK_TRY(opt_bool(ctx, name)))
      feats += (feats.empty() ? "" : ",") + std::string(*v ? "" : "^") + feature;
  if (!feats.empty()) argv.insert(argv.end(), {"-O", feats});
  if (auto v = DK_TRY(opt_int(ctx, "blockscount"))) {
    argv.push_back(dev);
    argv.push_back(std::to_string(*v));
  } else {
    argv.push_back(dev);
  }
  DK_TRY(run_tool(ctx, argv, "mke2fs: " + user_name(ctx, dev)));
  return json(nullptr);
}

Result<json> op_mkswap(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  std::vector<std::string> argv = {"mkswap", "-f"};
  if (auto l = DK_TRY(opt_str(ctx, "label"))) argv.insert(argv.end(), {"-L", *l});
  if (auto u = DK_TRY(opt_str(ctx, "uuid"))) argv.insert(argv.end(), {"-U", *u});
  argv.push_back(dev);
  DK_TRY(run_tool(ctx, argv, "mkswap: " + user_name(ctx, dev)));
  return json(nullptr);
}

Result<json> op_resize2fs(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  std::vector<std::string> argv = {"resize2fs"};
  if (DK_TRY(opt_bool(ctx, "force")).value_or(false)) argv.push_back("-f");
  argv.push_back(dev);
  if (auto size = DK_TRY(opt_int(ctx, "size"))) {
    if (*size <= 0) return make_error(EINVAL, "size must be > 0");
    argv.push_back(std::to_string(*size / 1024) + "K");
  }
  DK_TRY(run_tool(ctx, argv, "resize2fs: " + user_name(ctx, dev)));
  return json(nullptr);
}

Result<json> op_e2fsck(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  bool correct = DK_TRY(opt_bool(ctx, "correct")).value_or(false);
  bool forceall = DK_TRY(opt_bool(ctx, "forceall")).value_or(false);
  if (correct && forceall)
    return make_error(EINVAL, "only one of the options 'correct', 'forceall' may be specified");
  std::vector<std::string> argv = {"e2fsck", "-f"};
  if (correct) argv.push_back("-p");
  if (forceall) argv.push_back("-y");
  if (!correct && !forceall) argv.push_back("-n");  // no terminal to answer questions: check only
  argv.push_back(dev);
  CommandResult r = DK_TRY(run_command(argv, {}));
  // 0: clean, 1: errors corrected; 2 and up: a reboot is needed, errors
  // left uncorrected, or e2fsck failed.
  if (r.status < 0 || r.status >= 2)
    return make_error(EIO, "e2fsck: " + user_name(ctx, dev) + ": " + last_line(r));
  return json(nullptr);
}

// fsck -a -t TYPE: the checker's exit status is the result (libguestfs'
// fsck returns it rather than failing).
Result<json> op_fsck(Context& ctx) {
  std::string fstype = DK_TRY(str_arg(ctx, "fstype"));
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  std::vector<std::string> argv;
  if (is_ext(fstype))
    argv = {"e2fsck", "-a", dev};
  else if (fstype == "vfat" || fstype == "msdos" || fstype == "fat")
    argv = {"fsck.fat", "-a", dev};
  else if (fstype == "exfat")
    argv = {"fsck.exfat", "-p", dev};
  else if (fstype == "xfs" || fstype == "btrfs")
    return json(0);  // fsck.xfs and fsck.btrfs do nothing and exit 0 (the kernel checks at mount)
  else
    return make_error(EINVAL, "fsck: " + fstype + ": no checker for this file system type");
  CommandResult r = DK_TRY(run_command(argv, {}));
  if (r.status < 0) return make_error(EIO, "fsck: " + user_name(ctx, dev) + ": " + last_line(r));
  return json(r.status);
}

Result<json> op_zerofree(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  DK_TRY(run_tool(ctx, {"zerofree", dev}, "zerofree: " + user_name(ctx, dev)));
  return json(nullptr);
}

}  // namespace

DK_AGENT_OP("mkfs", op_mkfs);
DK_AGENT_OP("mke2fs", op_mke2fs);
DK_AGENT_OP("mkswap", op_mkswap);
DK_AGENT_OP("resize2fs", op_resize2fs);
DK_AGENT_OP("e2fsck", op_e2fsck);
DK_AGENT_OP("fsck", op_fsck);
DK_AGENT_OP("zerofree", op_zerofree);

}  // namespace dk::agent::ops
