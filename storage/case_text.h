// The search index (schema 10): `case_text`, an SQLite FTS5 table with the trigram tokenizer
// holding the title and description of every public case this node holds, keyed by the case's
// storage key (cases.ref). Kept off the commit path: the transaction that stores a case's first
// event only notes its ref in `search_pending` (QueueForIndex); the committer thread indexes the
// noted cases in small transactions of their own when no write waits (IndexPending), and at once
// when a search waits for them. The migration to schema 10 notes every stored case. A
// confidential case's content never enters it: this node keeps that content sealed under its key
// (storage/store.h ListSealedContent). Internal to storage/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/sqlite.h"

namespace lapor::storage {

// Notes case `ref` for the indexer, inside the caller's transaction (the one storing the case's
// first event).
Status QueueForIndex(Connection* db, uint64_t ref);

// Indexes up to `max_cases` noted cases in one transaction of its own (their submissions, own or
// received: a case whose stored events hold no public submission is dropped from the notes):
// true if more cases are noted, false once none is. A crash before it commits leaves those cases
// noted, to be indexed again.
Result<bool> IndexPending(Connection* db, int max_cases);

// If `envelope` is the submission of a public case, indexes its title and description under
// `ref` (replacing what the index held for it); otherwise does nothing.
Status IndexSubmission(Connection* db, uint64_t ref, const std::string& envelope);

// Removes a case from the index and from the notes (an erasure of its content).
Status UnindexCase(Connection* db, uint64_t ref);

// The FTS5 query for `words`: each one a quoted string (the trigram tokenizer matches it as a
// substring, case-insensitively), all of them required.
std::string MatchExpression(const std::vector<std::string>& words);

}  // namespace lapor::storage
