// Who may see what of a case: the one place that decides it. Every surface that shows a case
// (the case view and list, its signed events, the access record, search and pages to come) asks
// DecideAccess and shows no more than it allows. README.md has the same table for people.
//
// clang-format off
// | data                                  | public | reporter | admin | case liaison  | other liaison | auditor |
// |---------------------------------------|--------|----------|-------|---------------|---------------|---------|
// | reporter identity                     | never  | own      | yes   | not anonymous | never         | never   |
// | content of a public case              | yes    | yes      | yes   | yes           | yes           | yes     |
// | files of a public case (`files`)      | not anonymous | yes | yes | yes          | not anonymous | not anonymous |
// | content of a confidential case, files | never  | yes      | yes   | yes           | never         | never   |
// | operator ids in events                | no     | no       | yes   | yes           | no            | yes     |
// clang-format on
//
// "Admin" is an admin of the node that owns the case; an admin of any other node holding it (the
// origin, the hub, an escalation party) sees it as an auditor does. The "case liaison" is a
// liaison of the agency the case is dispositioned to, at the owner node. Content is everything
// but the case's existence, status, dates and the types of its events: title, description,
// report type, category, region, location, agencies, attachments, the nodes it involves (their
// ids are region codes) and the notes of its events. Nobody outside the reporter and the owner's
// admin and case liaison learns anything of a confidential case but that it exists, its status
// and its dates.
#pragma once

#include <optional>
#include <string>

#include "lapor/v1/event.pb.h"
#include "storage/store.h"

namespace lapor::node {

// Who is asking: an operator (by token), the reporter (by access code), or nobody.
struct Credentials {
  std::optional<storage::Operator> op;
  std::string access_code;
};

enum class Audience { kPublic, kReporter, kAdmin, kCaseLiaison, kOtherLiaison, kAuditor };

const char* AudienceName(Audience a);

struct CaseAccess {
  Audience audience = Audience::kPublic;
  bool content = false;            // title, description, report type, category, region,
                                   // location, agencies, attachments, notes
  bool reporter_identity = false;  // name, NIK, phone, email, address
  bool operator_ids = false;       // which operator did what
  // The signed envelopes (GET .../events): they carry operator ids, so only a caller who may see
  // those gets them (admin, case liaison, auditor: the same bytes the log serves an auditor).
  bool signed_events = false;
  // The case's access record (who read its personal data): admins, auditors and the reporter.
  bool access_record = false;
  // The filing receipt (GET .../receipt): the submission's signed envelope, which names no
  // operator (a citizen files), with its proof in the node's log: the reporter, and those who
  // may read the signed events.
  bool receipt = false;
  // The files the reporter attached (GET .../attachments/{sha256}): who reads the content, but
  // for an anonymous case only the reporter, the admins and the case's liaison (who needs them to
  // act): a photo or a document can identify who took or wrote it.
  bool files = false;
};

// Whom `who` is for case `s` at node `self`. `holds_access_code`: the caller presented the
// case's access code (checked by the caller). An operator token wins over an access code.
Audience AudienceFor(const v1::CaseState& s, const Credentials& who, bool holds_access_code,
                     const std::string& self);

// What that audience may see of the case.
CaseAccess DecideAccess(const v1::CaseState& s, Audience audience);

// Whether `who` may read the whole node's access record (admins and auditors), and see which
// operator made each read there.
bool MayReadWholeAccessRecord(const Credentials& who);

// Whether `who` may read the national figures and alerts at the hub (/national/v1/...): its
// admins and auditors (counts, tracking ids, statuses and dates; nothing personal).
bool MayReadNationalFigures(const Credentials& who);

// Whether a list filter on these fields could reveal a confidential case's content to someone
// who may not see it (a filter on agency or category, or a search for words, is itself a question
// about content).
bool FilterTouchesContent(const storage::CaseFilter& filter);

}  // namespace lapor::node
