// jbd2 on-disk format (Linux include/linux/jbd2.h): every journal block
// starts with a big-endian header {magic 0xc03b3998, blocktype, sequence}.
#include "fs/ext/journal.h"

#include <map>
#include <vector>

#include "formats/core/endian.h"
#include "fs/ext/ext_io.h"

namespace dk::fs::ext {
namespace {

constexpr uint32_t kMagic = 0xc03b3998;
enum : uint32_t { kDescriptor = 1, kCommit = 2, kSuperV1 = 3, kSuperV2 = 4, kRevoke = 5 };
enum : uint32_t { kIncompat64 = 0x2, kIncompatCsumV2 = 0x8, kIncompatCsumV3 = 0x10 };
enum : uint32_t { kTagEscape = 0x1, kTagSameUuid = 0x2, kTagLast = 0x8 };
constexpr uint64_t kMaxJournalBlocks = uint64_t{1} << 22;

struct Journal {
  ext2_filsys fs;
  ext2_ino_t ino;
  uint32_t bs;
  uint32_t maxlen, first;
  uint32_t incompat = 0;

  Result<std::vector<uint8_t>> block(uint32_t lblk) {
    blk64_t pblk = 0;
    errcode_t err = ext2fs_bmap2(fs, ino, nullptr, nullptr, 0, lblk, nullptr, &pblk);
    if (err) return make_error(EIO, "journal block " + std::to_string(lblk) + ": " + ext_message(err));
    std::vector<uint8_t> b(bs, 0);
    if (pblk == 0) return b;  // a hole in the journal: reads as zeroes
    if (pblk >= ext2fs_blocks_count(fs->super))
      return make_error(EIO, "journal block " + std::to_string(lblk) + " maps outside the file system");
    err = io_channel_read_blk64(fs->io, pblk, 1, b.data());
    if (err) return make_error(EIO, "reading journal block " + std::to_string(lblk) + ": " + ext_message(err));
    return b;
  }
  uint32_t next(uint32_t lblk) const { return lblk + 1 >= maxlen ? first : lblk + 1; }
  size_t tag_bytes() const {
    if (incompat & kIncompatCsumV3) return 16;
    size_t sz = 12;
    if (incompat & kIncompatCsumV2) sz += 2;
    return (incompat & kIncompat64) ? sz : sz - 4;
  }
};

struct Write {
  uint64_t fs_block;
  uint32_t journal_block;
  bool escaped;
};

struct Transaction {
  uint32_t seq;
  std::vector<Write> writes;
};

}  // namespace

Result<uint64_t> replay_journal(ext2_filsys fs, fmt::Layer& out) {
  ext2_super_block* sb = fs->super;
  if (!ext2fs_has_feature_journal(sb) || sb->s_journal_inum == 0 || ext2fs_has_feature_journal_dev(sb))
    return make_error(ENOTSUP, "the journal is not an internal one");
  Journal j{fs, sb->s_journal_inum, fs->blocksize, 0, 0};
  std::vector<uint8_t> jsb = DK_TRY(j.block(0));
  uint32_t type = load_be32(jsb.data() + 4);
  if (load_be32(jsb.data()) != kMagic || (type != kSuperV1 && type != kSuperV2))
    return make_error(EINVAL, "bad journal superblock");
  if (load_be32(jsb.data() + 12) != fs->blocksize) return make_error(EINVAL, "journal block size differs");
  j.maxlen = load_be32(jsb.data() + 16);
  j.first = load_be32(jsb.data() + 20);
  uint32_t seq = load_be32(jsb.data() + 24);
  uint32_t start = load_be32(jsb.data() + 28);
  if (type == kSuperV2) j.incompat = load_be32(jsb.data() + 40);
  if (start == 0) return uint64_t{0};  // clean log
  if (j.maxlen > kMaxJournalBlocks || j.first == 0 || j.first >= j.maxlen || start < j.first || start >= j.maxlen)
    return make_error(EINVAL, "journal superblock has bad bounds");
  const size_t tag_bytes = j.tag_bytes();
  const size_t tail = (j.incompat & (kIncompatCsumV2 | kIncompatCsumV3)) ? 4 : 0;
  const size_t rec = (j.incompat & kIncompat64) ? 8 : 4;

  // Scan: collect committed transactions and revokes, stopping at the first
  // block that does not continue the log (wrong magic or sequence).
  std::vector<Transaction> done;
  std::map<uint64_t, uint32_t> revoked;  // fs block -> newest revoking transaction
  Transaction cur{seq, {}};
  std::map<uint64_t, uint32_t> cur_revokes;
  uint32_t pos = start;
  for (uint64_t steps = 0; steps < j.maxlen; ++steps) {
    std::vector<uint8_t> b = DK_TRY(j.block(pos));
    if (load_be32(b.data()) != kMagic || load_be32(b.data() + 8) != cur.seq) break;
    uint32_t bt = load_be32(b.data() + 4);
    pos = j.next(pos);
    if (bt == kDescriptor) {
      size_t off = 12;
      bool last = false;
      while (!last && off + tag_bytes + tail <= j.bs) {
        const uint8_t* t = b.data() + off;
        uint64_t blk = load_be32(t);
        uint32_t flags = (j.incompat & kIncompatCsumV3) ? load_be32(t + 4) : load_be16(t + 6);
        if ((j.incompat & kIncompat64) && tag_bytes >= 12) blk |= uint64_t{load_be32(t + 8)} << 32;
        cur.writes.push_back({blk, pos, (flags & kTagEscape) != 0});
        pos = j.next(pos);
        off += tag_bytes;
        if (!(flags & kTagSameUuid)) off += 16;
        last = flags & kTagLast;
        ++steps;
      }
    } else if (bt == kCommit) {
      for (auto& [blk, s] : cur_revokes) revoked[blk] = s;
      cur_revokes.clear();
      done.push_back(std::move(cur));
      cur = Transaction{done.back().seq + 1, {}};
    } else if (bt == kRevoke) {
      uint32_t count = load_be32(b.data() + 12);
      if (count > j.bs) count = static_cast<uint32_t>(j.bs);
      for (size_t off = 16; off + rec <= count; off += rec) {
        uint64_t blk = rec == 8 ? load_be64(b.data() + off) : load_be32(b.data() + off);
        cur_revokes[blk] = cur.seq;
      }
    } else {
      break;
    }
  }

  // Replay in order; a block revoked by the same or a later transaction is skipped.
  uint64_t written = 0;
  const uint64_t fs_blocks = ext2fs_blocks_count(sb);
  for (const Transaction& t : done) {
    for (const Write& w : t.writes) {
      auto rv = revoked.find(w.fs_block);
      if (rv != revoked.end() && rv->second >= t.seq) continue;
      if (w.fs_block >= fs_blocks) return make_error(EIO, "journal names block " + std::to_string(w.fs_block) + " outside the file system");
      std::vector<uint8_t> data = DK_TRY(j.block(w.journal_block));
      if (w.escaped) store_be32(data.data(), kMagic);
      DK_TRY(out.write(w.fs_block * j.bs, std::as_bytes(std::span(data))));
      ++written;
    }
  }
  return written;
}

}  // namespace dk::fs::ext
