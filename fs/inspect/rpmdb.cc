// rpm header blobs and the sqlite rpmdb (see rpmdb.h).
//
// Header layout (rpm's lib/header.c, all big endian):
//   uint32 il, uint32 dl, il x {int32 tag, uint32 type, int32 offset,
//   uint32 count}, then dl bytes of data that the offsets point into.
#include "fs/inspect/rpmdb.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "formats/core/endian.h"

namespace dk::fs::inspect {
namespace {

constexpr uint32_t kTagName = 1000, kTagVersion = 1001, kTagRelease = 1002, kTagEpoch = 1003,
                   kTagSummary = 1004, kTagDescription = 1005, kTagUrl = 1020, kTagArch = 1022;
constexpr uint32_t kTypeInt32 = 4, kTypeString = 6, kTypeStringArray = 8, kTypeI18nString = 9;

// Cap on the work a hostile database can make sqlite do (virtual machine
// steps between progress callbacks x callbacks) and on the rows read.
constexpr int kProgressSteps = 10000;
constexpr int kMaxProgressCalls = 200000;
constexpr size_t kMaxPackages = 1000000;

struct Index {
  uint32_t tag, type, offset, count;
};

class Header {
 public:
  Header(std::span<const std::byte> blob, uint32_t il, uint32_t dl)
      : m_blob(blob), m_il(il), m_data(blob.subspan(8 + size_t{il} * 16, dl)) {}

  std::optional<Index> find(uint32_t tag) const {
    for (uint32_t i = 0; i < m_il; ++i) {
      const std::byte* e = m_blob.data() + 8 + size_t{i} * 16;
      if (load_be32(e) == tag) return Index{tag, load_be32(e + 4), load_be32(e + 8), load_be32(e + 12)};
    }
    return std::nullopt;
  }

  // The first string of a string-typed tag; "(none)" when missing, as
  // headerFormat prints it; nullopt when the entry is malformed.
  std::optional<std::string> string(uint32_t tag) const {
    auto e = find(tag);
    if (!e) return std::string("(none)");
    if (e->type != kTypeString && e->type != kTypeI18nString && e->type != kTypeStringArray)
      return std::nullopt;
    if (e->count == 0 || e->offset >= m_data.size()) return std::nullopt;
    auto rest = m_data.subspan(e->offset);
    const void* nul = std::memchr(rest.data(), 0, rest.size());
    if (!nul) return std::nullopt;
    size_t len = static_cast<const std::byte*>(nul) - rest.data();
    return std::string(reinterpret_cast<const char*>(rest.data()), len);
  }

  // EPOCH: 0 when missing; nullopt when malformed.
  std::optional<int> int32(uint32_t tag) const {
    auto e = find(tag);
    if (!e) return 0;
    if (e->type != kTypeInt32 || e->count == 0 || e->offset > m_data.size() ||
        m_data.size() - e->offset < 4)
      return std::nullopt;
    return static_cast<int>(load_be32(m_data.data() + e->offset));
  }

 private:
  std::span<const std::byte> m_blob;
  uint32_t m_il;
  std::span<const std::byte> m_data;
};

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

}  // namespace

Result<Application> parse_rpm_header(std::span<const std::byte> blob) {
  if (blob.size() < 8) return make_error(EINVAL, "rpm header shorter than its 8-byte intro");
  uint32_t il = load_be32(blob.data()), dl = load_be32(blob.data() + 4);
  if (il == 0 || il > kMaxRpmHeaderTags) return make_error(EINVAL, "rpm header has " + std::to_string(il) + " tags");
  if (dl > kMaxRpmHeaderData) return make_error(EINVAL, "rpm header data of " + std::to_string(dl) + " bytes");
  if (blob.size() - 8 < uint64_t{il} * 16 + dl)
    return make_error(EINVAL, "rpm header of " + std::to_string(il) + " tags and " + std::to_string(dl) +
                                  " data bytes is longer than its " + std::to_string(blob.size()) + "-byte blob");
  Header h(blob, il, dl);
  Application app;
  auto take = [&](uint32_t tag, std::string& out) {
    auto s = h.string(tag);
    if (!s) return false;
    out = std::move(*s);
    return true;
  };
  if (!take(kTagName, app.name) || !take(kTagVersion, app.version) || !take(kTagRelease, app.release) ||
      !take(kTagArch, app.arch) || !take(kTagUrl, app.url) || !take(kTagSummary, app.summary) ||
      !take(kTagDescription, app.description))
    return make_error(EINVAL, "rpm header has a string tag outside its data");
  auto epoch = h.int32(kTagEpoch);
  if (!epoch) return make_error(EINVAL, "rpm header has a malformed EPOCH tag");
  app.epoch = *epoch;
  if (app.name == "(none)" || app.name.empty()) return make_error(EINVAL, "rpm header has no NAME");
  return app;
}

Result<std::vector<Application>> read_rpmdb_sqlite(std::string bytes, const std::string& name) {
  if (bytes.size() < 100 || std::memcmp(bytes.data(), "SQLite format 3", 16) != 0)
    return make_error(EINVAL, "'" + name + "' is not an sqlite database");
  // Bytes 18 and 19 are 2 in WAL mode, which an in-memory database cannot
  // use; 1 (rollback journal) reads the same pages. Frames still in a -wal
  // file are not seen (rpm checkpoints when it closes the database).
  if (bytes[18] == 2) bytes[18] = 1;
  if (bytes[19] == 2) bytes[19] = 1;

  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, SqliteCloser> db(raw);
  if (rc != SQLITE_OK) return make_error(ENOMEM, "sqlite: cannot open an in-memory database");
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_VIEW, 0, nullptr);
  // Bound the time a crafted schema or b-tree can take.
  int calls = 0;
  sqlite3_progress_handler(
      db.get(), kProgressSteps, [](void* p) { return ++*static_cast<int*>(p) > kMaxProgressCalls ? 1 : 0; },
      &calls);
  rc = sqlite3_deserialize(db.get(), "main", reinterpret_cast<unsigned char*>(bytes.data()),
                           static_cast<sqlite3_int64>(bytes.size()), static_cast<sqlite3_int64>(bytes.size()),
                           SQLITE_DESERIALIZE_READONLY);
  if (rc != SQLITE_OK) return make_error(EINVAL, "'" + name + "': sqlite: " + sqlite3_errmsg(db.get()));

  sqlite3_stmt* st = nullptr;
  rc = sqlite3_prepare_v2(db.get(), "SELECT blob FROM main.Packages", -1, &st, nullptr);
  std::unique_ptr<sqlite3_stmt, StmtCloser> stmt(st);
  if (rc != SQLITE_OK)
    return make_error(EINVAL, "'" + name + "': not an rpm database (sqlite: " + sqlite3_errmsg(db.get()) + ")");
  std::vector<Application> apps;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    if (apps.size() >= kMaxPackages)
      return make_error(EFBIG, "'" + name + "' lists more than " + std::to_string(kMaxPackages) + " packages");
    const void* data = sqlite3_column_blob(stmt.get(), 0);
    int len = sqlite3_column_bytes(stmt.get(), 0);
    if (!data || len <= 0) continue;
    auto app = parse_rpm_header({static_cast<const std::byte*>(data), static_cast<size_t>(len)});
    if (app) apps.push_back(std::move(*app));  // a damaged header is skipped, as rpm -qa skips it
  }
  if (rc != SQLITE_DONE)
    return make_error(rc == SQLITE_INTERRUPT ? ETIMEDOUT : EINVAL,
                      "'" + name + "': sqlite: " + sqlite3_errmsg(db.get()));
  std::stable_sort(apps.begin(), apps.end(), [](const Application& a, const Application& b) { return a.name < b.name; });
  return apps;
}

}  // namespace dk::fs::inspect
