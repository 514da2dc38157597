// The list of subcommands, in the order `diskit --help` shows them.
#include "tools/commands.h"

namespace dk::tools {

std::vector<Command> add_all_commands(CLI::App& app) {
  return {
      add_create(app),      add_info(app),   add_convert(app), add_map(app),
      add_compare(app),     add_check(app),  add_snapshot(app), add_rebase(app),
      add_resize(app),      add_commit(app), add_measure(app), add_amend(app),
      add_filesystems(app), add_ls(app),     add_cat(app),
      add_df(app), add_copy_in(app), add_copy_out(app), add_tar_in(app), add_tar_out(app),
      add_inspect(app),
      add_fish(app),
      add_mount(app),
      add_umount(app),
      add_serve(app),
      add_appliance(app),
      add_rescue(app),
      add_run(app), add_domxml_to_native(app),
  };
}

}  // namespace dk::tools
