// The libext2fs io_manager that reads and writes a diskit Layer (internal).
#pragma once

#include <ext2fs/ext2fs.h>

#include <string>

#include "formats/layer.h"

namespace dk::fs::ext {

// The io_manager to pass to ext2fs_open2 together with the name returned
// by register_layer().
io_manager layer_io_manager();

// Makes `layer` openable by layer_io_manager() under the returned name
// until unregister_layer(name). With read_only, every write through the
// channel fails with EROFS even when the layer is writable (so a read-only
// open can never change a byte).
std::string register_layer(fmt::Layer& layer, bool read_only);
void unregister_layer(const std::string& name);

// A libext2fs/com_err code as text ("Ext2 inode is not a directory").
std::string ext_message(errcode_t code);
// The errno that best matches a libext2fs code (plain errnos pass through).
int ext_errno(errcode_t code);

}  // namespace dk::fs::ext
