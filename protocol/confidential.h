// A confidential (rahasia) case in the signed record. Its events are public (the transparency log
// serves every envelope) and replicated to every party and the hub, so they carry in plain only
// what anyone may know of the case: that it exists, each event's type, time and actor kind, the
// status and deadlines it leads to, and the nodes that handle it (delivery needs them). The rest,
// which the access policy calls content, travels sealed in a v1::SealedText that the event commits
// to: the submission's title, description, category, report type, region, target agency,
// location, attachments and channel (content_commitment); an action's note and the agency, archive
// or decline reason, original case and rating it names (note_commitment). Only the nodes that must handle
// the case (its origin and owner) receive the SealedText, sealed to their keys; an auditor checks
// the chain without it.
#pragma once

#include <optional>

#include "lapor/v1/event.pb.h"

namespace lapor::protocol {

// Moves the content fields out of `e` into a SealedText (salt left empty for the caller), or
// nullopt when `e` carries none. `e`'s commitment fields are not touched.
std::optional<v1::SealedText> TakeContent(v1::Event* e);

// Puts the content back into `e` as its author made it (for a caller allowed to see it). Fields
// `text` does not carry stay as they are.
void RestoreContent(const v1::SealedText& text, v1::Event* e);

// Applies to `s` what only the content of `e` (restored) says: the report type, category, region
// and agency of a submission, the agency of a verification or disposition, an archive's reason,
// a rating.
// With ApplyEvent over sealed events this gives the state a node that may see the content holds.
void ApplyContent(const v1::Event& e, v1::CaseState* s);

// Clears the fields ApplyContent sets. A node keeps a confidential case's state as folded from
// the events as it holds them (its own with their content, others' sealed), so two folds of the
// same chain agree on the rest.
void ClearContent(v1::CaseState* s);

}  // namespace lapor::protocol
