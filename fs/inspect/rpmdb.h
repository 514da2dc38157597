// The rpm database: header blobs (the on-disk rpm header format, parsed
// here with every offset checked) and the sqlite rpmdb (rpm >= 4.16's
// default, read with libsqlite3 from an in-memory copy: the guest's file is
// never opened for writing and no temporary file is made).
//
// BerkeleyDB (/var/lib/rpm/Packages) and NDB (Packages.db) databases are
// not supported.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "formats/core/error.h"
#include "fs/inspect/inspect.h"

namespace dk::fs::inspect {

inline constexpr uint32_t kMaxRpmHeaderTags = 0xffff;        // rpm's own limit
inline constexpr uint32_t kMaxRpmHeaderData = 256u << 20;    // rpm's HEADER_DATA_MAX
inline constexpr uint64_t kMaxRpmdbSize = 1024ull << 20;     // the sqlite file read into memory

// One header blob as stored in rpmdb's Packages table (index count, data
// length, index entries, data; no lead magic). Fields as librpm's
// headerFormat("%{TAG}") gives them: "(none)" for a missing string tag,
// epoch 0 when there is none; EINVAL for a malformed header.
Result<Application> parse_rpm_header(std::span<const std::byte> blob);

// Every package of an rpmdb.sqlite file held in `bytes` (modified: the
// WAL flag in the header is cleared so the in-memory copy opens).
// `name` is for messages. Sorted by name.
Result<std::vector<Application>> read_rpmdb_sqlite(std::string bytes, const std::string& name);

}  // namespace dk::fs::inspect
