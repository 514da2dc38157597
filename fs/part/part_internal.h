// Shared between mbr.cc, gpt.cc and part.cc (internal).
#pragma once

#include <cstdint>

#include "fs/part/part.h"

namespace dk::fs {

// ss: the logical sector size the tables count in (512 or 4096).
// Parses the MBR in sector0 into t; false when sector0 holds no MBR.
Result<bool> read_mbr(fmt::Layer& disk, const uint8_t* sector0, PartitionTable& t, uint64_t ss);
// Parses the GPT (primary, else backup) into t; false when neither is valid.
Result<bool> read_gpt(fmt::Layer& disk, PartitionTable& t, uint64_t ss);

}  // namespace dk::fs
