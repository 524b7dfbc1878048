// The search index (schema 9): `case_text`, an SQLite FTS5 table with the trigram tokenizer
// holding the title and description of every public case this node holds, keyed by the case's
// storage key (cases.ref). Written in the transaction that stores the case's submission, and
// filled for existing cases by the migration to schema 9. A confidential case's content never
// enters it: this node keeps that content sealed under its key (storage/store.h
// ListSealedContent). Internal to storage/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/sqlite.h"

namespace lapor::storage {

// If `envelope` is the submission of a public case, indexes its title and description under
// `ref` (replacing what the index held for it); otherwise does nothing.
Status IndexSubmission(Connection* db, uint64_t ref, const std::string& envelope);

// Indexes the submission of every case stored (own and received): the migration to schema 9.
Status IndexStoredCases(Connection* db);

// Removes a case from the index (an erasure of its content).
Status UnindexCase(Connection* db, uint64_t ref);

// The FTS5 query for `words`: each one a quoted string (the trigram tokenizer matches it as a
// substring, case-insensitively), all of them required.
std::string MatchExpression(const std::vector<std::string>& words);

}  // namespace lapor::storage
