// diskit commit: qemu-img 7.2's `commit` (write an overlay into its backing
// file, or into BASE further down with -b, then empty it unless -d/-b).
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "formats/chain.h"
#include "formats/maint/commit.h"
#include "tools/command.h"
#include "tools/image_args.h"
#include "tools/options.h"
#include "tools/progress.h"

namespace dk::tools {
namespace {

struct CommitOptions {
  std::string format;
  std::string cache = "writeback";  // qemu-img's default for commit
  std::optional<std::string> base;  // -b
  std::optional<std::string> rate_limit;  // -r, checked and accepted; an offline commit is not throttled
  bool drop = false;
  bool progress = false;
  bool quiet = false;
  std::string filename;
};

Result<int> run_commit(const CommitOptions& o) {
  if (o.rate_limit && !parse_size(*o.rate_limit, "rate limit"))
    return make_error(EINVAL,
                      "Invalid rate limit specified. You may use k, M, G, T, P or E suffixes for\n"
                      "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
  fmt::ChainOptions copts;
  copts.format = o.format;
  copts.open.writable = true;
  auto cache = apply_cache_mode(o.cache, "cache option", copts.open);
  if (!cache) return make_error(EINVAL, "Invalid cache option: " + o.cache);
  auto chain = fmt::maint::open_commit_chain(o.filename, copts, o.base);
  if (!chain) {
    // A failure to open FILE itself carries qemu-img's "Could not open" prefix;
    // errors about BASE are worded by open_commit_chain.
    const Error& e = chain.error();
    bool about_top = e.message.rfind("Image does not", 0) != 0 && e.message.rfind("Did not find", 0) != 0 &&
                     e.message.rfind("Could not open '", 0) != 0;
    return make_error(about_top ? open_error(o.filename, e) : e);
  }
  // -b implies -d: the layers between FILE and BASE become invalid, FILE
  // itself must keep its data.
  const bool drop = o.drop || o.base.has_value();
  const bool show = o.progress && !o.quiet;
  {
    // qemu-img prints 0 when it starts and again on its first poll of the
    // job, then the job's progress, and 100 once the commit succeeded.
    Progress progress(show);
    progress.print(0);
    progress.print(0);
    DK_TRY(fmt::maint::commit(*chain, drop, [&](double f) {
      if (f < 1.0) progress.print(f * 100.0);
    }));
    progress.print(100);
  }
  if (!o.quiet) std::printf("Image committed.\n");
  return 0;
}

}  // namespace

Command add_commit(CLI::App& parent) {
  auto o = std::make_shared<CommitOptions>();
  Command c;
  c.app = parent.add_subcommand("commit", "Commit an overlay's changes into its backing file");
  c.app->add_option("-f", o->format, "Image format (probed when omitted)");
  c.app->add_option("-t", o->cache, "Cache mode for the images written (default writeback)");
  c.app->add_option("-b", o->base, "Backing file to commit into (default: the immediate one); implies -d");
  c.app->add_option("-r", o->rate_limit, "Rate limit (accepted and checked; not applied)");
  c.app->add_flag("-d", o->drop, "Do not empty FILE after the commit");
  c.app->add_flag("-p", o->progress, "Show progress");
  c.app->add_flag("-q", o->quiet, "Quiet");
  c.app->add_option("filename", o->filename, "Image file")->required();
  c.run = [o]() -> Result<int> { return run_commit(*o); };
  return c;
}

}  // namespace dk::tools
