// The convert pipeline: a reader thread (plans and reads chunks), optional
// compression workers, and the calling thread writing chunks in guest order.
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "formats/convert/convert.h"
#include "formats/convert/plan.h"
#include "formats/core/checked_math.h"

namespace dk::fmt {

using namespace convert_detail;

namespace {

constexpr uint64_t kMaxBufferBytes = 160u << 20;
// Runs shorter than this are read: mapping costs two system calls.
constexpr uint64_t kMinMapBytes = 64u << 10;
// Deferred writes joined into one pwritev: at most this many, and bytes.
constexpr size_t kMaxBatch = 64;
constexpr uint64_t kMaxBatchBytes = 16u << 20;

// Chunk buffers are anonymous mappings (page aligned, so O_DIRECT friendly)
// because parts of them are replaced by mappings of source files.
class Buffer {
 public:
  Buffer() = default;
  Buffer(std::byte* p, size_t n) : m_p(p), m_n(n) {}
  Buffer(Buffer&& o) noexcept : m_p(std::exchange(o.m_p, nullptr)), m_n(o.m_n) {}
  Buffer& operator=(Buffer&&) = delete;
  ~Buffer() {
    if (m_p) ::munmap(m_p, m_n);
  }
  std::byte* get() const { return m_p; }

 private:
  std::byte* m_p = nullptr;
  size_t m_n = 0;
};

size_t page_size() {
  static const size_t p = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return p;
}

Result<Buffer> alloc_buffer(uint64_t size) {
  const size_t n = align_up(size, page_size());
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return make_error(ENOMEM, "cannot allocate a " + std::to_string(size) + " byte buffer");
  return Buffer(static_cast<std::byte*>(p), n);
}

// One deferred data write of a job (see DeferredWrites).
struct WriteTask {
  size_t slot;
  uint64_t guest_off;
  DeferredWrites::Write w;
};

struct Job {
  uint64_t seq = 0;
  uint64_t off = 0;
  uint64_t len = 0;
  size_t slot = 0;
  std::vector<Piece> pieces;
  std::vector<Piece> base_pieces;
  std::vector<Op> ops;
  std::optional<Error> error;
  std::vector<DeferredWrites::Write> deferred;  // data writes left to the workers
  std::vector<uint64_t> deferred_off;           // guest offset of each (for errors)
};

// qemu-img reports progress per request, and a request covers at most one
// buffer (2 MiB, or one cluster with -c) of a run of data; reporting the same
// steps prints the same sequence of percentages. A step is reported when it
// completes (which may be in the next chunk), with the value qemu-img prints
// when it starts it (the done count includes the request).
class ProgressSteps {
 public:
  ProgressSteps(uint64_t total, uint64_t step, bool count_zero, const std::function<void(double)>& cb)
      : m_total(total), m_step(step), m_count_zero(count_zero), m_cb(cb) {}
  void account(std::span<const Piece> pieces) {
    for (const Piece& p : pieces) {
      bool counted = p.data || m_count_zero;
      bool continues = counted && m_in_run && p.out_off == m_run_end && p.data == m_run_data;
      if (!continues) close_run();
      if (!counted) continue;
      m_in_run = true;
      m_run_data = p.data;
      m_run_end = p.out_off + p.len;
      for (uint64_t left = p.len; left;) {
        uint64_t n = std::min(left, m_step - m_run_pos);
        m_done += n;
        m_run_pos += n;
        left -= n;
        if (m_run_pos == m_step) {
          report();
          m_run_pos = 0;
        }
      }
    }
  }
  // Reports a partly filled last request.
  void close_run() {
    if (m_run_pos) report();
    m_run_pos = 0;
    m_in_run = false;
  }

 private:
  void report() {
    if (m_total) m_cb(100.0 * static_cast<double>(std::min(m_done, m_total)) / static_cast<double>(m_total));
  }
  uint64_t m_total, m_step;
  bool m_count_zero;
  const std::function<void(double)>& m_cb;
  uint64_t m_done = 0, m_run_pos = 0, m_run_end = 0;
  bool m_in_run = false, m_run_data = false;
};

// Whether a layer's I/O may be issued from several threads at once. The raw
// driver is a thin pread/pwrite wrapper without mutable state; other drivers
// keep caches and allocation state and are driven from one thread.
bool io_thread_safe(const Layer* l) { return l->format_name() == "raw"; }

class Pipeline {
 public:
  Pipeline(std::span<Layer* const> sources, Layer& target, const ConvertOptions& o)
      : m_sources(sources.begin(), sources.end()), m_target(target), m_opts(o), m_planner(m_sources),
        m_base_planner(o.compare_base ? std::vector<Layer*>{o.compare_base} : std::vector<Layer*>{}) {}

  Result<void> run();

 private:
  Result<void> setup();
  Result<uint64_t> count_data();
  void reader_main();
  void worker_main();
  Result<void> plan_job(Job& job);
  Result<void> read_job(Job& job);
  Result<void> unmap_slot(size_t slot);
  Result<void> map_or_read(const Piece& p, const Job& job);
  void process_job(Job& job);
  Result<void> write_job(Job& job);
  void queue_deferred(Job& job);
  void flusher_main();
  void run_deferred(std::span<const WriteTask> batch);
  void finish_job(std::unique_ptr<Job> job);
  void stop();

  std::span<std::byte> buf(size_t slot) { return {m_bufs[slot].get(), m_chunk}; }
  std::span<std::byte> base_buf(size_t slot) {
    return m_opts.compare_base ? std::span<std::byte>(m_base_bufs[slot].get(), m_chunk) : std::span<std::byte>();
  }

  std::vector<Layer*> m_sources;
  Layer& m_target;
  ConvertOptions m_opts;
  Planner m_planner;
  Planner m_base_planner;
  ChunkSettings m_settings;
  SplitCompression* m_splitter = nullptr;
  uint64_t m_total = 0;
  uint64_t m_chunk = 0;
  uint64_t m_promote = 0;
  std::vector<Buffer> m_bufs, m_base_bufs;
  std::vector<HostMapped*> m_mapped;  // per source: its HostMapped side, or null
  // Per slot: buffer ranges (offset, length) that map a source file.
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> m_slot_maps;
  unsigned m_workers = 0;
  bool m_parallel_read = false;   // workers read the sources
  bool m_parallel_write = false;  // workers write the target

  std::mutex m_mu;
  // One condition per waiter kind, so an event wakes only who can act on it.
  std::condition_variable m_cv_free;   // reader: a buffer slot was freed
  std::condition_variable m_cv_work;   // workers: a job to process
  std::condition_variable m_cv_ready;  // writer: a job is ready
  std::deque<size_t> m_free;                       // free buffer slots
  std::deque<std::unique_ptr<Job>> m_work;         // read, waiting for a worker
  std::map<uint64_t, std::unique_ptr<Job>> m_ready;  // processed, waiting for the writer
  uint64_t m_jobs_total = UINT64_MAX;              // known once the reader is done
  bool m_abort = false;
  // Deferred data writes (DeferredWrites targets): queued by the writer,
  // done by the workers; a slot is freed when its last one completes.
  DeferredWrites* m_deferrer = nullptr;
  std::deque<WriteTask> m_write_queue;  // waiting for the flusher thread
  std::condition_variable m_cv_flush;   // flusher: writes were queued
  std::vector<unsigned> m_slot_pending;
  uint64_t m_outstanding = 0;
  std::optional<Error> m_write_error;
  bool m_writer_done = false;
  std::condition_variable m_cv_written;  // writer: the last deferred write finished
};

Result<void> Pipeline::setup() {
  m_total = m_planner.total_size();
  if (m_total > m_target.size())
    return make_error(EINVAL, "the target ('" + m_target.filename() + "', " + std::to_string(m_target.size()) +
                                  " bytes) is smaller than the sources (" + std::to_string(m_total) + " bytes)");
  uint64_t cluster = m_target.cluster_size().value_or(0);
  if (cluster == 0 || !is_pow2(cluster) || cluster > (64u << 20)) cluster = m_opts.compress ? 65536 : 4096;
  m_chunk = align_up(std::max<uint64_t>(m_opts.chunk_size ? m_opts.chunk_size : (4u << 20), cluster), cluster);
  unsigned depth = std::clamp(m_opts.depth, 2u, 32u);
  const uint64_t per_slot = m_chunk * (m_opts.compare_base ? 2 : 1);
  depth = static_cast<unsigned>(std::clamp<uint64_t>(kMaxBufferBytes / per_slot, 2, depth));
  for (unsigned i = 0; i < depth; ++i) {
    m_bufs.push_back(DK_TRY(alloc_buffer(m_chunk)));
    if (m_opts.compare_base) m_base_bufs.push_back(DK_TRY(alloc_buffer(m_chunk)));
    m_free.push_back(i);
  }
  m_slot_maps.resize(depth);
  for (Layer* l : m_sources) m_mapped.push_back(dynamic_cast<HostMapped*>(l));
  m_settings.sparse_size = m_opts.sparse_size;
  m_settings.target_is_zero = m_opts.target_is_zero;
  m_settings.compare = m_opts.compare_base != nullptr;
  m_settings.compress = m_opts.compress;
  m_settings.cluster_size = cluster;
  if (m_opts.compress) {
    m_promote = cluster;
    m_splitter = dynamic_cast<SplitCompression*>(&m_target);
    m_settings.splitter = m_splitter;
  }
  // Reads of thread-safe sources and writes to a thread-safe target are
  // spread over workers; everything else stays on one thread per side.
  m_parallel_read = std::all_of(m_sources.begin(), m_sources.end(), io_thread_safe) &&
                    (!m_opts.compare_base || io_thread_safe(m_opts.compare_base));
  m_deferrer = dynamic_cast<DeferredWrites*>(&m_target);
  m_parallel_write = !m_opts.compress && !m_deferrer && io_thread_safe(&m_target);
  m_slot_pending.assign(depth, 0);
  unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  if (m_splitter)
    m_workers = std::clamp(m_opts.threads ? m_opts.threads : cpus, 1u, 64u);
  else if (m_parallel_read || m_parallel_write || m_deferrer)
    m_workers = std::clamp(m_opts.threads ? m_opts.threads : std::max(cpus, 3u), 1u, depth);
  return {};
}

// Bytes of the output that hold data (what qemu-img's progress counts; with
// -S 0 everything counts).
Result<uint64_t> Pipeline::count_data() {
  if (m_opts.sparse_size == 0) return m_total;
  Planner p(m_sources);
  uint64_t sum = 0;
  for (uint64_t off = 0; off < m_total;) {
    uint64_t n = std::min<uint64_t>(m_total - off, 1ull << 30);
    for (const Piece& pc : DK_TRY(p.plan(off, n, m_promote)))
      if (pc.data) sum += pc.len;
    off += n;
  }
  return sum;
}

Result<void> Pipeline::plan_job(Job& job) {
  job.pieces = DK_TRY(m_planner.plan(job.off, job.len, m_promote));
  if (m_opts.compare_base) {
    // The base may be shorter than the output: past its end it reads as zero.
    uint64_t bsize = m_opts.compare_base->size();
    if (job.off < bsize) job.base_pieces = DK_TRY(m_base_planner.plan(job.off, std::min(job.len, bsize - job.off)));
    if (job.off + job.len > std::max(bsize, job.off)) {
      uint64_t s = std::max(bsize, job.off);
      job.base_pieces.push_back(Piece{false, s, job.off + job.len - s, 0, 0});
    }
  }
  return {};
}

// Puts anonymous memory back where the slot's buffer maps source files, so
// the next job may read into it.
Result<void> Pipeline::unmap_slot(size_t slot) {
  for (auto [a, n] : m_slot_maps[slot]) {
    void* want = m_bufs[slot].get() + a;
    void* p = ::mmap(want, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) return errno_error("cannot remap a convert buffer");
  }
  m_slot_maps[slot].clear();
  return {};
}

// Fills the buffer range of one data piece: page-aligned parts stored
// verbatim in a host file are mapped (read-only), the rest is read.
Result<void> Pipeline::map_or_read(const Piece& p, const Job& job) {
  Layer* in = m_sources[p.input];
  std::byte* base = m_bufs[job.slot].get();
  auto read = [&](uint64_t rel, uint64_t in_off, uint64_t n) -> Result<void> {
    auto r = in->read(in_off, std::span<std::byte>(base + rel, n));
    if (!r) return make_error(r.error().with_context("error while reading at byte " + std::to_string(job.off + rel)));
    return {};
  };
  HostMapped* hm = m_mapped[p.input];
  const uint64_t ps = page_size();
  for (uint64_t done = 0; done < p.len;) {
    const uint64_t rel = p.out_off - job.off + done, in_off = p.in_off + done, left = p.len - done;
    HostMapped::Run run{-1, 0, left};
    if (hm && left >= kMinMapBytes) {
      auto r = hm->host_run(in_off, left);
      if (!r)
        return make_error(r.error().with_context("error while reading at byte " + std::to_string(job.off + rel)));
      run = *r;
      if (run.length == 0 || run.length > left)
        return make_error(EIO, "'" + in->filename() + "': bad host run length at offset " + std::to_string(in_off));
    }
    const uint64_t a = align_up(rel, ps), b = align_down(rel + run.length, ps);
    bool mapped = false;
    if (run.fd >= 0 && rel % ps == run.offset % ps && b > a && b - a >= kMinMapBytes) {
      // Read-only and populated at once: the engine never writes into data
      // pieces (only zero pieces are zero-filled), and faulting the pages in
      // later from several threads contends on the address-space lock.
      void* p2 = ::mmap(base + a, b - a, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, run.fd,
                        static_cast<off_t>(run.offset + (a - rel)));
      if (p2 != MAP_FAILED) {
        mapped = true;
      } else {
        // A failed MAP_FIXED may have dropped the old pages: put memory back.
        p2 = ::mmap(base + a, b - a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p2 == MAP_FAILED) return errno_error("cannot remap a convert buffer");
      }
      m_slot_maps[job.slot].emplace_back(a, b - a);
    }
    if (mapped) {
      if (a > rel) DK_TRY(read(rel, in_off, a - rel));
      if (rel + run.length > b) DK_TRY(read(b, in_off + (b - rel), rel + run.length - b));
    } else {
      DK_TRY(read(rel, in_off, run.length));
    }
    done += run.length;
  }
  return {};
}

Result<void> Pipeline::read_job(Job& job) {
  DK_TRY(unmap_slot(job.slot));
  for (const Piece& p : job.pieces)
    if (p.data) DK_TRY(map_or_read(p, job));
  if (m_opts.compare_base) {
    Layer* base = m_opts.compare_base;
    DK_TRY(read_pieces(std::span<Layer* const>(&base, 1), job.base_pieces, job.off, base_buf(job.slot)));
  }
  return {};
}

// Zero detection / comparison / compression of a read job.
void Pipeline::process_job(Job& job) {
  auto ops = process_chunk(m_settings, job.off, buf(job.slot), job.pieces, base_buf(job.slot), job.base_pieces);
  if (ops)
    job.ops = std::move(*ops);
  else
    job.error = ops.error();
}

void Pipeline::finish_job(std::unique_ptr<Job> job) {
  std::lock_guard lk(m_mu);
  uint64_t seq = job->seq;
  m_ready.emplace(seq, std::move(job));
  m_cv_ready.notify_one();
}

void Pipeline::reader_main() {
  uint64_t seq = 0;
  for (uint64_t off = 0; off < m_total; off += m_chunk, ++seq) {
    auto job = std::make_unique<Job>();
    {
      std::unique_lock lk(m_mu);
      m_cv_free.wait(lk, [&] { return m_abort || !m_free.empty(); });
      if (m_abort) break;
      job->slot = m_free.front();
      m_free.pop_front();
    }
    job->seq = seq;
    job->off = off;
    job->len = std::min(m_chunk, m_total - off);
    auto r = plan_job(*job);
    if (r && !(m_workers && m_parallel_read)) r = read_job(*job);
    if (r && m_workers == 0) process_job(*job);
    if (!r) job->error = r.error();
    if (job->error) {
      finish_job(std::move(job));
      ++seq;
      break;  // the writer stops at this job
    }
    if (m_workers == 0) {
      finish_job(std::move(job));
    } else {
      std::lock_guard lk(m_mu);
      m_work.push_back(std::move(job));
      m_cv_work.notify_one();
    }
  }
  std::lock_guard lk(m_mu);
  m_jobs_total = seq;
  m_cv_work.notify_all();
  m_cv_ready.notify_all();
}

void Pipeline::worker_main() {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lk(m_mu);
      m_cv_work.wait(lk, [&] { return m_abort || !m_work.empty() || m_jobs_total != UINT64_MAX; });
      if (m_abort) return;
      if (m_work.empty()) return;  // the reader is done, nothing left
      job = std::move(m_work.front());
      m_work.pop_front();
    }
    Result<void> r;
    if (m_parallel_read) r = read_job(*job);
    if (r) process_job(*job);
    if (!r) job->error = r.error();
    if (!job->error && m_parallel_write) {
      auto w = write_job(*job);
      if (!w) job->error = w.error();
    }
    finish_job(std::move(job));
  }
}

// The one thread that performs deferred data writes, in the order they were
// queued. One thread, because buffered writes to one file serialize on its
// inode lock anyway (several writers only spin on it, burning the core the
// readers need); host-contiguous writes go out as one pwritev.
void Pipeline::flusher_main() {
  std::vector<WriteTask> batch;
  for (;;) {
    {
      std::unique_lock lk(m_mu);
      m_cv_flush.wait(lk, [&] { return m_abort || !m_write_queue.empty() || m_writer_done; });
      if (m_abort || (m_write_queue.empty() && m_writer_done)) return;
      batch.clear();
      uint64_t bytes = 0;
      while (!m_write_queue.empty() && batch.size() < kMaxBatch && bytes < kMaxBatchBytes) {
        const WriteTask& t = m_write_queue.front();
        if (!batch.empty() && (t.w.fd != batch.back().w.fd || t.w.offset != batch.back().w.offset + batch.back().w.length))
          break;
        bytes += t.w.length;
        batch.push_back(t);
        m_write_queue.pop_front();
      }
    }
    run_deferred(batch);
  }
}

void Pipeline::run_deferred(std::span<const WriteTask> batch) {
  std::optional<Error> err;
  iovec iov[kMaxBatch];
  size_t n_iov = 0;
  for (const WriteTask& t : batch) iov[n_iov++] = iovec{const_cast<std::byte*>(t.w.data), t.w.length};
  const int fd = batch.front().w.fd;
  uint64_t off = batch.front().w.offset;
  size_t first = 0;
  while (first < n_iov) {
    ssize_t n = ::pwritev(fd, iov + first, static_cast<int>(n_iov - first), static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error e = n < 0 ? errno_error("write to '" + m_target.filename() + "' at offset " + std::to_string(off)).value()
                      : make_error(EIO, "short write to '" + m_target.filename() + "'").value();
      err = e.with_context("error while writing at byte " + std::to_string(batch[first].guest_off));
      break;
    }
    off += static_cast<uint64_t>(n);
    for (size_t done = static_cast<size_t>(n); done && first < n_iov;) {
      size_t k = std::min(done, iov[first].iov_len);
      iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + k;
      iov[first].iov_len -= k;
      done -= k;
      if (iov[first].iov_len == 0) ++first;
    }
  }
  std::lock_guard lk(m_mu);
  if (err && !m_write_error) m_write_error = std::move(err);
  for (const WriteTask& t : batch) {
    if (--m_slot_pending[t.slot] == 0) {
      m_free.push_back(t.slot);
      m_cv_free.notify_one();
    }
  }
  m_outstanding -= batch.size();
  if (m_outstanding == 0) m_cv_written.notify_all();
}

// Hands a written job's deferred data writes to the workers; the last one
// to finish frees the job's buffer slot.
void Pipeline::queue_deferred(Job& job) {
  std::lock_guard lk(m_mu);
  m_slot_pending[job.slot] = static_cast<unsigned>(job.deferred.size());
  m_outstanding += job.deferred.size();
  for (size_t i = 0; i < job.deferred.size(); ++i) {
    m_write_queue.push_back(WriteTask{job.slot, job.deferred_off[i], job.deferred[i]});
  }
  m_cv_flush.notify_one();
}

Result<void> Pipeline::write_job(Job& job) {
  std::span<std::byte> b = buf(job.slot);
  for (const Op& op : job.ops) {
    Result<void> r;
    switch (op.kind) {
      case OpKind::kWrite:
        if (m_deferrer) {
          r = m_deferrer->write_deferred(op.off, b.subspan(op.off - job.off, op.len), job.deferred);
          job.deferred_off.resize(job.deferred.size(), op.off);
        } else {
          r = m_target.write(op.off, b.subspan(op.off - job.off, op.len));
        }
        break;
      case OpKind::kZeroUnmap:
        r = m_target.write_zeroes(op.off, op.len, true);
        break;
      case OpKind::kZeroKeep:
        r = m_target.write_zeroes(op.off, op.len, false);
        break;
      case OpKind::kCompressed:
        r = m_target.write_compressed(op.off, b.subspan(op.off - job.off, op.len));
        if (!r && r.error().code == ENOTSUP)
          return make_error(ENOTSUP, "Compression not supported for this file format");
        break;
      case OpKind::kPayload:
        r = m_splitter->write_compressed_payload(op.off, op.payload);
        break;
    }
    if (!r) return make_error(r.error().with_context("error while writing at byte " + std::to_string(op.off)));
  }
  return {};
}

void Pipeline::stop() {
  std::lock_guard lk(m_mu);
  m_abort = true;
  m_cv_free.notify_all();
  m_cv_work.notify_all();
  m_cv_ready.notify_all();
  m_cv_flush.notify_all();
}

Result<void> Pipeline::run() {
  DK_TRY(setup());
  uint64_t data_total = 0;
  if (m_opts.progress) {
    data_total = DK_TRY(count_data());
  }
  const uint64_t step = m_opts.compress ? m_settings.cluster_size : std::max<uint64_t>(2u << 20, m_settings.cluster_size);
  ProgressSteps steps(data_total, step, m_opts.sparse_size == 0, m_opts.progress);
  std::thread reader([this] { reader_main(); });
  std::vector<std::thread> workers;
  for (unsigned i = 0; i < m_workers; ++i) workers.emplace_back([this] { worker_main(); });
  std::thread flusher;
  if (m_deferrer) flusher = std::thread([this] { flusher_main(); });

  Result<void> result;
  for (uint64_t seq = 0;; ++seq) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lk(m_mu);
      m_cv_ready.wait(lk, [&] { return m_ready.count(seq) || seq >= m_jobs_total; });
      if (!m_ready.count(seq)) break;  // all done
      job = std::move(m_ready[seq]);
      m_ready.erase(seq);
    }
    if (job->error) {
      result = make_error(*job->error);
      break;
    }
    if (!m_parallel_write) {
      result = write_job(*job);
      if (!result) break;
    }
    if (!job->deferred.empty()) {
      queue_deferred(*job);
    } else {
      std::lock_guard lk(m_mu);
      m_free.push_back(job->slot);
      m_cv_free.notify_one();
    }
    {
      std::lock_guard lk(m_mu);
      if (m_write_error) {
        result = make_error(*m_write_error);
        break;
      }
    }
    if (m_opts.progress) steps.account(job->pieces);
  }
  {
    // Every deferred write must land before the caller flushes or closes
    // the target (and before the buffers go away).
    std::unique_lock lk(m_mu);
    m_writer_done = true;
    m_cv_flush.notify_all();
    m_cv_written.wait(lk, [&] { return m_outstanding == 0; });
    if (result && m_write_error) result = make_error(*m_write_error);
  }
  if (result && m_opts.progress) steps.close_run();
  stop();
  reader.join();
  for (auto& w : workers) w.join();
  if (flusher.joinable()) flusher.join();
  return result;
}

}  // namespace

Result<void> convert_image(std::span<Layer* const> sources, Layer& target, const ConvertOptions& opts) {
  Pipeline p(sources, target, opts);
  return p.run();
}

}  // namespace dk::fmt
