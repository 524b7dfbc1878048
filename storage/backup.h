// Backups of a node's data folder as one SQLite file: a consistent copy of the database, taken
// with SQLite's online backup API while the node keeps serving and committing, plus the folder's
// other files (config, keys, holiday calendar) in a table of the copy's own, so that one file
// holds everything a restore needs. A backup holds reporters' personal data (sealed with
// sealing.key, which it also holds) and the node's signing key: it is written 0600 and must be
// kept like the data folder itself.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace lapor::storage {

struct BackupFile {
  std::string name;  // a plain file name, no folder
  mode_t mode = 0600;
  std::string content;
};

// Copies the database at `db_path` (which a running node may be writing) and `files` into a new
// file `out_path`. The copy is written beside it first and renamed into place once it and its
// folder are fsynced: when this returns Ok the backup is whole and durable; on error, or if the
// process dies during it, `out_path` is untouched (an older backup there stays). AlreadyExists if
// `out_path` exists and `overwrite` is false.
Status WriteBackup(const std::string& db_path, const std::vector<BackupFile>& files,
                   const std::string& out_path, bool overwrite);

// Reads the backup at `backup_path`: writes its database (without the files table) to `db_out`,
// which must not exist yet, and returns the files. Corruption if the file is not a backup made by
// WriteBackup.
Result<std::vector<BackupFile>> ReadBackup(const std::string& backup_path,
                                           const std::string& db_out);

}  // namespace lapor::storage
