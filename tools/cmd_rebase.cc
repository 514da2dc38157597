// diskit rebase: qemu-img 7.2's `rebase` (safe copy, -u header only, -b "" flattens).
#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "formats/chain.h"
#include "formats/maint/rebase.h"
#include "tools/command.h"
#include "tools/image_args.h"
#include "tools/progress.h"

namespace dk::tools {
namespace {

struct RebaseOptions {
  std::string format;
  std::string cache;
  std::string src_cache;
  std::optional<std::string> backing;  // -b; "" flattens
  std::string backing_format;          // -F
  bool progress = false;
  bool quiet = false;
  bool unsafe = false;
  bool force_share = false;
  std::string filename;
};

Result<int> run_rebase(const RebaseOptions& o) {
  if (!o.backing && !o.unsafe) return make_error(EINVAL, "Must specify backing file (-b) or use unsafe mode (-u)");
  const std::string backing = o.backing.value_or("");
  fmt::ChainOptions copts;
  copts.format = o.format;
  copts.open.writable = true;
  copts.open.force_share = o.force_share;
  if (!o.cache.empty()) DK_TRY(apply_cache_mode(o.cache, "cache option", copts.open));
  fmt::OpenOptions src_open;
  src_open.force_share = o.force_share;
  if (!o.src_cache.empty()) DK_TRY(apply_cache_mode(o.src_cache, "source cache option", src_open));
  // Unsafe mode never reads the old backing chain, which may be gone.
  copts.no_backing = o.unsafe;
  auto top = fmt::open_chain(o.filename, copts);
  if (!top) return make_error(open_error(o.filename, top.error()));

  if (!o.unsafe) {
    std::unique_ptr<fmt::Layer> new_base;
    if (!backing.empty()) {
      // A relative name is relative to the overlay's directory, as it will be when opened later.
      fmt::ChainOptions bopts;
      bopts.format = o.backing_format;
      bopts.open = src_open;
      std::string path = fmt::resolve_backing_path(o.filename, backing);
      auto b = fmt::open_chain(path, bopts);
      if (!b) {
        // qemu-img names the file once here: "Could not open 'X': reason".
        std::string msg = b.error().message;
        if (!msg.empty()) msg[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(msg[0])));
        return make_error(b.error().code, "Could not open new backing file '" + backing + "': " + msg);
      }
      new_base = std::move(*b);
    }
    if (!backing.empty() && o.backing_format.empty())
      return make_error(EINVAL, "Could not change the backing file to '" + backing +
                                    "': backing format must be specified");
    Progress progress(o.progress && !o.quiet);
    progress.print(0);
    DK_TRY(fmt::maint::copy_backing_differences(**top, new_base.get(),
                                                [&](double f) { progress.print(f * 100.0); }));
  } else if (!backing.empty() && o.backing_format.empty()) {
    return make_error(EINVAL, "Could not change the backing file to '" + backing +
                                  "': backing format must be specified");
  }
  // The data the new backing lacks is stable (flushed) before the header names it.
  auto r = (*top)->set_backing_file(backing, o.backing_format);
  if (!r)
    return make_error(r.error().code,
                      "Could not change the backing file to '" + backing + "': " + r.error().message);
  DK_TRY((*top)->flush());
  return 0;
}

}  // namespace

Command add_rebase(CLI::App& parent) {
  auto o = std::make_shared<RebaseOptions>();
  Command c;
  c.app = parent.add_subcommand("rebase", "Change the backing file of an image");
  c.app->add_option("-f", o->format, "Image format (probed when omitted)");
  c.app->add_option("-t", o->cache, "Cache mode for FILE");
  c.app->add_option("-T", o->src_cache, "Cache mode for the backing files");
  c.app->add_option("-b", o->backing, "New backing file (\"\" removes the backing file)");
  c.app->add_option("-F", o->backing_format, "Format of the new backing file");
  c.app->add_flag("-p", o->progress, "Show progress");
  c.app->add_flag("-q", o->quiet, "Quiet");
  c.app->add_flag("-u", o->unsafe, "Unsafe: only rewrite the header, copy no data");
  c.app->add_flag("-U,--force-share", o->force_share, "Open images even if another process holds them");
  c.app->add_option("filename", o->filename, "Image file")->required();
  c.run = [o]() -> Result<int> { return run_rebase(*o); };
  return c;
}

}  // namespace dk::tools
