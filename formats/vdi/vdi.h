// The VDI (VirtualBox Disk Image) format: a 512-byte header, a block map
// of 32-bit entries, and 1 MiB data blocks. Field names follow the header
// layout as QEMU's block/vdi.c names them (VirtualBox's VDICore.h calls
// them cbHeader, offBlocks, offData, cbDisk, cBlocks, uuidCreate, ...).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/core/error.h"
#include "formats/core/file.h"
#include "formats/driver.h"
#include "formats/layer.h"

namespace dk::fmt::vdi {

constexpr uint32_t kSignature = 0xbeda107f;
constexpr uint32_t kVersion11 = 0x00010001;
// header_size as QEMU writes it (VirtualBox's VDIHEADER1; 1.1+ headers say 0x190).
constexpr uint32_t kHeaderSize = 0x180;
constexpr size_t kHeaderBytes = 512;  // the header sector, padding included
constexpr uint32_t kSectorSize = 512;
constexpr uint32_t kBlockSize = 1u << 20;
constexpr uint32_t kTypeDynamic = 1;  // VirtualBox "normal"
constexpr uint32_t kTypeStatic = 2;   // VirtualBox "fixed"
constexpr uint32_t kTypeUndo = 3;
constexpr uint32_t kTypeDiff = 4;     // differencing image (uuid_link names the parent)
// Block map entries that are not block indexes.
constexpr uint32_t kBlockFree = 0xffffffff;  // never written: reads from below (zero without parent)
constexpr uint32_t kBlockZero = 0xfffffffe;  // discarded: reads as zero
constexpr bool is_allocated(uint32_t entry) { return entry < kBlockZero; }
// QEMU 7.2's limits: the block map must be readable in one request.
constexpr uint32_t kMaxBlocks = 0x1fffff80;
constexpr uint64_t kMaxDiskSize = uint64_t{kMaxBlocks} * kBlockSize;
constexpr char kText[] = "<<< Oracle VM VirtualBox Disk Image >>>\n";

// A UUID in the byte order VirtualBox stores it (first three fields little endian).
using Uuid = std::array<uint8_t, 16>;
bool uuid_is_null(const Uuid& u);
// "xxxxxxxx-xxxx-..." in the usual (RFC 4122) notation.
std::string uuid_string(const Uuid& u);
// A random version-4 UUID in VirtualBox byte order.
Uuid uuid_generate();

// The decoded header; offsets of each field inside the sector are kOff*.
struct Header {
  std::string text;
  uint32_t signature = 0;
  uint32_t version = 0;
  uint32_t header_size = 0;
  uint32_t image_type = 0;
  uint32_t image_flags = 0;
  uint32_t offset_bmap = 0;
  uint32_t offset_data = 0;
  uint32_t cylinders = 0;
  uint32_t heads = 0;
  uint32_t sectors = 0;
  uint32_t sector_size = 0;
  uint64_t disk_size = 0;
  uint32_t block_size = 0;
  uint32_t block_extra = 0;
  uint32_t blocks_in_image = 0;
  uint32_t blocks_allocated = 0;
  Uuid uuid_image{};
  Uuid uuid_last_snap{};
  Uuid uuid_link{};
  Uuid uuid_parent{};
};

using HeaderSector = std::array<std::byte, kHeaderBytes>;

Header decode_header(const HeaderSector& s);
// Stores the fields of h into s; bytes the struct does not model (padding,
// VirtualBox's LCHS geometry) are left as they are.
void encode_header(const Header& h, HeaderSector& s);

// Checks a decoded header against the limits diskit (and QEMU) support and
// against the size of the file; errors name `name`.
Result<void> validate_header(const Header& h, uint64_t file_size, const std::string& name);

// Checks the block map: every index below blocks_in_image, no index used
// twice, every block starting inside the file. Returns the number of
// allocated entries and the highest index used + 1.
struct BmapStats {
  uint32_t allocated = 0;
  uint32_t next_index = 0;
};
Result<BmapStats> check_bmap(const Header& h, std::span<const uint32_t> bmap, uint64_t file_size,
                             const std::string& name);

// Score for probing: 100 when the signature matches.
int probe(std::span<const std::byte> head, std::string_view filename);

// The parent of a differencing image: opts.extra["parent"], or a *.vdi file
// next to the image whose uuid_image is h.uuid_link. Returns its path.
Result<std::string> locate_parent(const std::string& path, const Header& h, const OpenOptions& opts);

class VdiLayer final : public Layer {
 public:
  VdiLayer(File f, bool writable, HeaderSector raw, Header h, std::vector<uint32_t> bmap,
           BmapStats stats, std::string parent);
  ~VdiLayer() override;

  std::string_view format_name() const override { return "vdi"; }
  uint64_t size() const override { return m_size; }
  std::optional<uint64_t> cluster_size() const override { return kBlockSize; }
  // A differencing image's parent (found by UUID), opened as vdi by the chain.
  std::string backing_filename() const override { return m_parent; }
  std::string backing_format() const override { return m_parent.empty() ? "" : "vdi"; }
  Result<uint64_t> actual_size() const override { return m_file.allocated_size(); }
  // check.cc: QEMU's vdi_co_check (block map consistency; no repair).
  Result<CheckReport> check(CheckFix fix) override;

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override;
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override;
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap) override;
  Result<void> do_flush() override;
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override;
  Result<void> do_truncate(uint64_t new_size, bool shrink_allowed) override;

 private:
  uint64_t block_offset(uint32_t index) const {
    return uint64_t{m_header.offset_data} + uint64_t{index} * kBlockSize;
  }
  // Writes a newly allocated block: `in` at `in_block`, the rest from below.
  Result<void> allocate_block(uint32_t block, uint64_t in_block, std::span<const std::byte> in);
  // Sets bmap[block] in memory and remembers the entry for the next flush.
  void set_entry(uint32_t block, uint32_t value);
  // Writes bmap entries [first, last] (whole sectors) at offset_bmap.
  Result<void> write_bmap_range(uint32_t first, uint32_t last);
  Result<void> write_header();
  // The host file's own status at a static image's data (QEMU's BDRV_BLOCK_RECURSE).
  Result<void> refine_with_host(Extent& e);
  Result<void> grow_bmap(uint32_t new_blocks);
  // VirtualBox gives an image a new modification UUID (uuid_last_snap) the
  // first time it is written after opening; differencing children use it to
  // notice that their parent changed.
  void note_modified();
  Result<uint32_t> relocate_first_blocks(uint32_t slots);

  File m_file;
  HeaderSector m_raw;
  Header m_header;
  std::vector<uint32_t> m_bmap;
  uint32_t m_allocated;   // entries that are block indexes
  uint32_t m_next_index;  // index the next new block gets (highest used + 1)
  uint64_t m_size;
  std::string m_parent;
  bool m_dirty_bmap = false;
  uint32_t m_dirty_first = 0;
  uint32_t m_dirty_last = 0;
  bool m_dirty_header = false;
  bool m_modified = false;
};

Result<std::unique_ptr<Layer>> open_vdi(const std::string& path, const OpenOptions& opts);
Result<void> create_vdi(const std::string& path, const CreateSpec& spec);

}  // namespace dk::fmt::vdi
