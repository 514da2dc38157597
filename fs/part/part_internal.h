// Shared between mbr.cc, gpt.cc and part.cc (internal).
#pragma once

#include <cstdint>

#include "fs/part/part.h"

namespace dk::fs {

// Parses the MBR in sector0 into t; false when sector0 holds no MBR.
Result<bool> read_mbr(fmt::Layer& disk, const uint8_t* sector0, PartitionTable& t);
// Parses the GPT (primary, else backup) into t; false when neither is valid.
Result<bool> read_gpt(fmt::Layer& disk, PartitionTable& t);

}  // namespace dk::fs
