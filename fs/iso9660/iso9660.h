// ISO 9660 (ECMA-119) file systems, read-only, with the Joliet and Rock
// Ridge (SUSP 1.12 / RRIP 1.12) extensions.
//
// Names are chosen as Linux's isofs does with default options: Rock Ridge
// when the root directory carries it, else Joliet when a Joliet volume
// descriptor is present, else the plain ISO 9660 names mapped like
// map=normal (lowercased, ";1" and ".;1" dropped). Every extent and length
// read from the image is checked against the device; directory cycles,
// continuation-area chains and oversized directories end in clean errors.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "formats/layer.h"
#include "fs/probe.h"
#include "fs/vfs.h"

namespace dk::fs {

struct IsoOpenOptions {
  // Name for messages ("/dev/sda").
  std::string device_name;
};

// Opens the ISO 9660 file system at the start of `dev` (the FileSystem owns
// it). EINVAL when dev holds none; the file system is always read-only
// (every write op returns EROFS).
Result<std::unique_ptr<FileSystem>> open_iso9660(std::unique_ptr<fmt::Layer> dev,
                                                 const IsoOpenOptions& opts);

// blkid's view of an ISO 9660 volume from the first bytes of a device
// (`head` should cover 64 KiB: the volume descriptor set): type, label (the
// Joliet volume id merged with the primary one, as libblkid 2.38 does),
// UUID (modification, else creation time, "YYYY-MM-DD-HH-MM-SS-CC") and
// size. False when there is no primary volume descriptor at 32 KiB.
bool identify_iso9660(std::span<const uint8_t> head, ProbeResult& out);

}  // namespace dk::fs
