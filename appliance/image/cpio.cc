#include "appliance/image/cpio.h"

#include <sys/stat.h>

#include <cstdio>

namespace dk::appliance {
namespace {

void pad4(std::string& s) {
  while (s.size() % 4) s.push_back('\0');
}

}  // namespace

void CpioWriter::entry(std::string_view path, uint32_t mode, std::string_view data, uint32_t rmajor,
                       uint32_t rminor) {
  char hdr[111];
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
  // rdevmajor, rdevminor, namesize, check. mtime 0 keeps builds reproducible.
  std::snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", m_ino++, mode, 0u, 0u,
                S_ISDIR(mode) ? 2u : 1u, 0u, static_cast<uint32_t>(data.size()), 0u, 0u, rmajor, rminor,
                static_cast<uint32_t>(path.size() + 1), 0u);
  m_out.append(hdr, 110);
  m_out.append(path);
  m_out.push_back('\0');
  pad4(m_out);
  m_out.append(data);
  pad4(m_out);
}

void CpioWriter::directory(std::string_view path, uint32_t mode) { entry(path, S_IFDIR | mode, {}); }

void CpioWriter::file(std::string_view path, std::string_view data, uint32_t mode) {
  entry(path, S_IFREG | (mode & 07777), data);
}

void CpioWriter::symlink(std::string_view path, std::string_view target) { entry(path, S_IFLNK | 0777, target); }

void CpioWriter::char_device(std::string_view path, uint32_t mode, uint32_t major, uint32_t minor) {
  entry(path, S_IFCHR | mode, {}, major, minor);
}

void CpioWriter::finish() {
  m_ino = 0;
  entry("TRAILER!!!", 0, {});
}

}  // namespace dk::appliance
