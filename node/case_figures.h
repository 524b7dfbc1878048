// The figures a case's state keeps for the statistics report (verified_ms, responded_ms and
// whether each came on time, reopen_count, auto_completed, missed_before_hold: protocol/lifecycle.h
// folds them) were
// added after cases existed. A store whose cases were folded without them has them filled in once,
// by replaying each case's chain, before the node serves or a command reads it.
#pragma once

#include <string>

#include "base/status.h"
#include "storage/store.h"

namespace lapor::node {

// The meta key set once every stored case has its figures.
inline constexpr char kCaseFiguresMetaKey[] = "case_figures";

// Fills in the figures of every stored case by replaying its chain (this node's events and the
// ones other nodes signed), unless done before. Only those fields change; a case whose chain does
// not replay keeps its state as it is (fsck reports it). Must run before anything else writes.
// Returns the number of cases updated.
Result<uint64_t> BackfillCaseFigures(storage::Store* store, const std::string& node_id);

}  // namespace lapor::node
