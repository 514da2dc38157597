// A libext2fs io_manager over a diskit Layer. libext2fs opens channels by
// name, so layers are registered under a unique name ("diskit-layer:N") for
// the duration of an open file system.
#include "fs/ext/ext_io.h"

#include <et/com_err.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "formats/core/checked_math.h"

namespace dk::fs::ext {
namespace {

struct Registered {
  fmt::Layer* layer;
  bool read_only;
};

std::mutex g_mutex;
std::map<std::string, Registered> g_layers;
uint64_t g_next = 0;

struct Channel {
  fmt::Layer* layer;
  bool read_only;
};

Channel* channel_of(io_channel ch) { return static_cast<Channel*>(ch->private_data); }

errcode_t error_of(const Error& e) { return e.code > 0 && e.code < 256 ? e.code : EIO; }

errcode_t dk_open(const char* name, int flags, io_channel* out) {
  if (!name) return EXT2_ET_BAD_DEVICE_NAME;
  Registered reg;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_layers.find(name);
    if (it == g_layers.end()) return EXT2_ET_BAD_DEVICE_NAME;
    reg = it->second;
  }
  if ((flags & IO_FLAG_RW) && (reg.read_only || !reg.layer->writable())) return EROFS;
  io_channel ch = nullptr;
  errcode_t err = ext2fs_get_memzero(sizeof(struct struct_io_channel), &ch);
  if (err) return err;
  Channel* priv = new Channel{reg.layer, reg.read_only || !(flags & IO_FLAG_RW)};
  err = ext2fs_get_mem(std::strlen(name) + 1, &ch->name);
  if (err) {
    delete priv;
    ext2fs_free_mem(&ch);
    return err;
  }
  std::strcpy(ch->name, name);
  ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->manager = layer_io_manager();
  ch->block_size = 1024;
  ch->refcount = 1;
  ch->private_data = priv;
  *out = ch;
  return 0;
}

errcode_t dk_close(io_channel ch) {
  if (--ch->refcount > 0) return 0;
  delete channel_of(ch);
  ext2fs_free_mem(&ch->name);
  ext2fs_free_mem(&ch);
  return 0;
}

errcode_t dk_set_blksize(io_channel ch, int blksize) {
  if (blksize <= 0 || blksize > (1 << 16)) return EINVAL;
  ch->block_size = blksize;
  return 0;
}

// count > 0: blocks; count < 0: -count bytes (libext2fs' convention).
errcode_t byte_range(io_channel ch, unsigned long long block, int count, uint64_t& off, uint64_t& len) {
  len = count < 0 ? static_cast<uint64_t>(-static_cast<int64_t>(count))
                  : static_cast<uint64_t>(count) * static_cast<uint64_t>(ch->block_size);
  auto o = checked_mul(block, static_cast<uint64_t>(ch->block_size));
  if (!o) return EXT2_ET_LLSEEK_FAILED;
  off = *o;
  return 0;
}

errcode_t dk_read_blk64(io_channel ch, unsigned long long block, int count, void* data) {
  uint64_t off, len;
  if (errcode_t e = byte_range(ch, block, count, off, len)) return e;
  fmt::Layer* l = channel_of(ch)->layer;
  uint64_t size = l->size();
  // A read reaching past the device: the part inside is read, the rest is
  // zero and libext2fs is told the read was short.
  uint64_t avail = off >= size ? 0 : std::min(len, size - off);
  if (avail) {
    auto r = l->read(off, std::span(static_cast<std::byte*>(data), avail));
    if (!r) return error_of(r.error());
  }
  if (avail < len) {
    std::memset(static_cast<char*>(data) + avail, 0, len - avail);
    return EXT2_ET_SHORT_READ;
  }
  return 0;
}

errcode_t dk_write_blk64(io_channel ch, unsigned long long block, int count, const void* data) {
  Channel* c = channel_of(ch);
  if (c->read_only) return EROFS;
  uint64_t off, len;
  if (errcode_t e = byte_range(ch, block, count, off, len)) return e;
  if (!range_within(off, len, c->layer->size())) return EXT2_ET_SHORT_WRITE;
  auto r = c->layer->write(off, std::span(static_cast<const std::byte*>(data), len));
  return r ? 0 : error_of(r.error());
}

errcode_t dk_read_blk(io_channel ch, unsigned long block, int count, void* data) {
  return dk_read_blk64(ch, block, count, data);
}
errcode_t dk_write_blk(io_channel ch, unsigned long block, int count, const void* data) {
  return dk_write_blk64(ch, block, count, data);
}

errcode_t dk_write_byte(io_channel ch, unsigned long offset, int size, const void* data) {
  Channel* c = channel_of(ch);
  if (c->read_only) return EROFS;
  if (size < 0 || !range_within(offset, static_cast<uint64_t>(size), c->layer->size()))
    return EXT2_ET_SHORT_WRITE;
  auto r = c->layer->write(offset, std::span(static_cast<const std::byte*>(data), size));
  return r ? 0 : error_of(r.error());
}

errcode_t dk_flush(io_channel ch) {
  Channel* c = channel_of(ch);
  if (c->read_only) return 0;
  auto r = c->layer->flush();
  return r ? 0 : error_of(r.error());
}

errcode_t dk_set_option(io_channel, const char*, const char*) { return EXT2_ET_INVALID_ARGUMENT; }

errcode_t dk_discard(io_channel ch, unsigned long long block, unsigned long long count) {
  Channel* c = channel_of(ch);
  if (c->read_only) return EROFS;
  auto off = checked_mul(block, static_cast<uint64_t>(ch->block_size));
  auto len = checked_mul(count, static_cast<uint64_t>(ch->block_size));
  if (!off || !len || !range_within(*off, *len, c->layer->size())) return EINVAL;
  auto r = c->layer->discard(*off, *len);
  return r ? 0 : error_of(r.error());
}

errcode_t dk_zeroout(io_channel ch, unsigned long long block, unsigned long long count) {
  Channel* c = channel_of(ch);
  if (c->read_only) return EROFS;
  auto off = checked_mul(block, static_cast<uint64_t>(ch->block_size));
  auto len = checked_mul(count, static_cast<uint64_t>(ch->block_size));
  if (!off || !len || !range_within(*off, *len, c->layer->size())) return EINVAL;
  auto r = c->layer->write_zeroes(*off, *len);
  return r ? 0 : error_of(r.error());
}

struct struct_io_manager g_manager = [] {
  struct struct_io_manager m;
  std::memset(&m, 0, sizeof m);
  m.magic = EXT2_ET_MAGIC_IO_MANAGER;
  m.name = "diskit layer I/O manager";
  m.open = dk_open;
  m.close = dk_close;
  m.set_blksize = dk_set_blksize;
  m.read_blk = dk_read_blk;
  m.write_blk = dk_write_blk;
  m.flush = dk_flush;
  m.write_byte = dk_write_byte;
  m.set_option = dk_set_option;
  m.read_blk64 = dk_read_blk64;
  m.write_blk64 = dk_write_blk64;
  m.discard = dk_discard;
  m.zeroout = dk_zeroout;
  return m;
}();

}  // namespace

io_manager layer_io_manager() { return &g_manager; }

std::string register_layer(fmt::Layer& layer, bool read_only) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::string name = "diskit-layer:" + std::to_string(g_next++);
  g_layers[name] = {&layer, read_only};
  return name;
}

void unregister_layer(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_layers.erase(name);
}

std::string ext_message(errcode_t code) {
  if (code > 0 && code < 256) return std::strerror(static_cast<int>(code));
  const char* m = error_message(code);
  return m ? m : "unknown ext2 error " + std::to_string(code);
}

int ext_errno(errcode_t code) {
  if (code > 0 && code < 256) return static_cast<int>(code);
  switch (code) {
    case EXT2_ET_FILE_NOT_FOUND: return ENOENT;
    case EXT2_ET_NO_DIRECTORY: return ENOTDIR;
    case EXT2_ET_DIR_EXISTS:
    case EXT2_ET_FILE_EXISTS: return EEXIST;
    case EXT2_ET_RO_FILSYS: return EROFS;
    case EXT2_ET_DIR_NO_SPACE:
    case EXT2_ET_BLOCK_ALLOC_FAIL:
    case EXT2_ET_INODE_ALLOC_FAIL:
    case EXT2_ET_DIR_NO_SPACE_FOR_CSUM: return ENOSPC;
    case EXT2_ET_FILE_TOO_BIG: return EFBIG;
    case EXT2_ET_NO_MEMORY: return ENOMEM;
    case EXT2_ET_UNSUPP_FEATURE:
    case EXT2_ET_RO_UNSUPP_FEATURE: return ENOTSUP;
    default: return EIO;
  }
}

}  // namespace dk::fs::ext
