// A cpio "newc" archive writer: the format the Linux kernel unpacks as an
// initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "formats/core/error.h"

namespace dk::appliance {

class CpioWriter {
 public:
  // Appends to `out` (the whole archive is kept in memory: an initramfs
  // must fit in the guest's RAM anyway).
  explicit CpioWriter(std::string& out) : m_out(out) {}
  // `path` is relative ("usr/bin/sh"); parents must come first.
  void directory(std::string_view path, uint32_t mode = 0755);
  void file(std::string_view path, std::string_view data, uint32_t mode);
  void symlink(std::string_view path, std::string_view target);
  void char_device(std::string_view path, uint32_t mode, uint32_t major, uint32_t minor);
  // The TRAILER!!! entry; nothing may follow.
  void finish();

 private:
  void entry(std::string_view path, uint32_t mode, std::string_view data, uint32_t rmajor = 0, uint32_t rminor = 0);
  std::string& m_out;
  uint32_t m_ino = 1;
};

}  // namespace dk::appliance
