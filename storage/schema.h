// The database schema: the migrations from an empty file to kSchemaVersion (storage/store.h), each
// run once, in one transaction with the version bump. Never edit a shipped migration: add one.
#pragma once

#include "base/status.h"
#include "storage/sqlite.h"

namespace lapor::storage {

// Brings the database to kSchemaVersion (nothing to do if it is there already); Corruption if
// its version is newer than this program's. All pending migrations commit together or not at
// all: a process that dies during them leaves the database at its old version.
Status Migrate(Connection* db);

}  // namespace lapor::storage
