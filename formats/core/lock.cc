// QEMU-compatible image locking (see lock.h). QEMU's file-posix driver
// expresses "I use permission i" as a shared OFD lock on byte 100+i and "I do
// not let others use permission i" as one on byte 200+i; conflicts are found
// with F_OFD_GETLK, which ignores locks of our own file description.
#include "formats/core/lock.h"

#include <fcntl.h>

#include <array>
#include <cerrno>
#include <string>

namespace dk {

namespace {

constexpr off_t kPermBase = 100;
constexpr off_t kSharedBase = 200;
constexpr std::array<const char*, 4> kPermNames = {"consistent read", "write", "write unchanged",
                                                   "resize"};

int set_byte(int fd, off_t byte, short type) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &fl) < 0 ? errno : 0;
}

// 1 when another file description holds a lock on `byte`, 0 when not, -errno on error.
int byte_taken(int fd, off_t byte) {
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  if (::fcntl(fd, F_OFD_GETLK, &fl) < 0) return -errno;
  return fl.l_type != F_UNLCK;
}

bool locking_unsupported(int err) { return err == EINVAL || err == ENOLCK || err == ENOTSUP; }

void unlock_all(int fd) {
  for (int i = 0; i < 4; i++) {
    (void)set_byte(fd, kPermBase + i, F_UNLCK);
    (void)set_byte(fd, kSharedBase + i, F_UNLCK);
  }
}

}  // namespace

Result<void> lock_image_perms(const File& f, unsigned perm, unsigned shared) {
  const int fd = f.fd();
  for (int i = 0; i < 4; i++) {
    int err = 0;
    if (perm & (1u << i)) err = set_byte(fd, kPermBase + i, F_RDLCK);
    if (!err && !(shared & (1u << i))) err = set_byte(fd, kSharedBase + i, F_RDLCK);
    if (err) {
      unlock_all(fd);
      if (locking_unsupported(err)) return {};
      return errno_error("'" + f.path() + "': could not lock the image", err);
    }
  }
  const char* hint = (perm & (kPermWrite | kPermResize)) ? "" : "; use -U to read it anyway";
  // QEMU's order: first the permissions we use that someone refuses to share,
  // then the permissions we refuse to share that someone uses.
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < 4; i++) {
      const unsigned bit = 1u << i;
      const bool check = pass == 0 ? (perm & bit) != 0 : (shared & bit) == 0;
      if (!check) continue;
      int r = byte_taken(fd, (pass == 0 ? kSharedBase : kPermBase) + i);
      if (r <= 0) continue;  // GETLK errors: treat as unlocked, like QEMU's locking=auto
      unlock_all(fd);
      return make_error(EAGAIN, "'" + f.path() + "': image is in use by another process (failed to get " +
                                    (pass == 0 ? "" : "shared ") + "\"" + kPermNames[i] + "\" lock)" +
                                    hint);
    }
  }
  return {};
}

Result<void> lock_image(const File& f, LockMode mode, bool force_share) {
  // A format with metadata (qcow2, ...) never lets others write or resize the
  // file under it (QEMU's bdrv_default_perms_for_storage).
  constexpr unsigned kMetadataShared = kPermAll & ~(kPermWrite | kPermResize);
  if (mode == LockMode::kWrite) {
    if (force_share)
      return make_error(EINVAL, "'" + f.path() + "': force-share (-U) can only be used with read-only images");
    return lock_image_perms(f, kPermConsistentRead | kPermWrite | kPermResize, kMetadataShared);
  }
  if (force_share) return lock_image_perms(f, kPermConsistentRead, kPermAll);
  return lock_image_perms(f, kPermConsistentRead, kMetadataShared);
}

Result<File> create_image_file(const std::string& path) {
  // No O_TRUNC: truncating before the lock check would clobber an image in use.
  File f = DK_TRY(File::open(path, O_RDWR | O_CREAT));
  DK_TRY(lock_image_perms(f, kPermWrite | kPermResize, kPermAll & ~kPermResize));
  DK_TRY(f.truncate(0));
  return f;
}

}  // namespace dk
