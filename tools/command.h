// The shape of one diskit subcommand. Each tools/cmd_<name>.cc defines one
// add_<name>() that declares its CLI11 subcommand (options into a small
// struct) and returns the function that runs it.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "formats/core/error.h"

namespace dk::tools {

struct Command {
  CLI::App* app = nullptr;
  // Runs the command; the int is the exit status. An Error is printed as
  // "diskit: <name>: <message>" and exits with error_exit.
  std::function<Result<int>()> run;
  int error_exit = 1;  // qemu-img: 1 for most commands, 2 for compare
};

Command add_create(CLI::App& parent);
Command add_info(CLI::App& parent);
Command add_convert(CLI::App& parent);
Command add_map(CLI::App& parent);
Command add_compare(CLI::App& parent);
Command add_resize(CLI::App& parent);
Command add_rebase(CLI::App& parent);
Command add_measure(CLI::App& parent);
Command add_amend(CLI::App& parent);
Command add_commit(CLI::App& parent);
Command add_filesystems(CLI::App& parent);
Command add_ls(CLI::App& parent);
Command add_cat(CLI::App& parent);
Command add_snapshot(CLI::App& parent);
Command add_check(CLI::App& parent);
Command add_inspect(CLI::App& parent);
Command add_mount(CLI::App& parent);
Command add_umount(CLI::App& parent);
Command add_fish(CLI::App& parent);
Command add_df(CLI::App& parent);
Command add_copy_in(CLI::App& parent);
Command add_copy_out(CLI::App& parent);
Command add_tar_in(CLI::App& parent);
Command add_tar_out(CLI::App& parent);
Command add_serve(CLI::App& parent);
Command add_appliance(CLI::App& parent);
Command add_rescue(CLI::App& parent);
Command add_run(CLI::App& parent);
Command add_domxml_to_native(CLI::App& parent);

}  // namespace dk::tools
