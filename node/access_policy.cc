#include "node/access_policy.h"

namespace lapor::node {

const char* AudienceName(Audience a) {
  switch (a) {
    case Audience::kPublic:
      return "public";
    case Audience::kReporter:
      return "reporter";
    case Audience::kAdmin:
      return "admin";
    case Audience::kCaseLiaison:
      return "case_liaison";
    case Audience::kOtherLiaison:
      return "other_liaison";
    case Audience::kAuditor:
      return "auditor";
  }
  return "public";
}

Audience AudienceFor(const v1::CaseState& s, const Credentials& who, bool holds_access_code,
                     const std::string& self) {
  if (who.op) {
    const bool owner = s.owner_node().empty() || s.owner_node() == self;
    const std::string& role = who.op->role;
    if (role == "admin") return owner ? Audience::kAdmin : Audience::kAuditor;
    if (role == "liaison") {
      return owner && !s.agency().empty() && s.agency() == who.op->agency ? Audience::kCaseLiaison
                                                                          : Audience::kOtherLiaison;
    }
    if (role == "auditor") return Audience::kAuditor;
    return Audience::kPublic;
  }
  return holds_access_code ? Audience::kReporter : Audience::kPublic;
}

CaseAccess DecideAccess(const v1::CaseState& s, Audience audience) {
  CaseAccess a;
  a.audience = audience;
  const bool confidential = s.confidential();
  switch (audience) {
    case Audience::kPublic:
    case Audience::kOtherLiaison:
      a.content = !confidential;
      break;
    case Audience::kReporter:
      a.content = true;
      a.reporter_identity = true;  // their own
      a.access_record = true;      // who read their data
      a.receipt = true;            // proof of their own filing
      break;
    case Audience::kAdmin:
      a.content = true;
      a.reporter_identity = true;
      a.operator_ids = true;
      a.signed_events = true;
      a.access_record = true;
      a.receipt = true;
      break;
    case Audience::kCaseLiaison:
      a.content = true;
      a.reporter_identity = !s.anonymous();
      a.operator_ids = true;
      a.signed_events = true;
      a.receipt = true;
      break;
    case Audience::kAuditor:
      a.content = !confidential;
      a.operator_ids = true;
      // Auditors check every chain, confidential ones included: the envelopes commit to the
      // sealed fields and are the same bytes the log serves them.
      a.signed_events = true;
      a.access_record = true;
      a.receipt = true;
      break;
  }
  const bool trusted = audience == Audience::kReporter || audience == Audience::kAdmin ||
                       audience == Audience::kCaseLiaison;
  a.files = a.content && (trusted || !s.anonymous());
  return a;
}

bool MayReadWholeAccessRecord(const Credentials& who) {
  return who.op && (who.op->role == "admin" || who.op->role == "auditor");
}

bool MayReadNationalFigures(const Credentials& who) {
  return who.op && (who.op->role == "admin" || who.op->role == "auditor");
}

bool FilterTouchesContent(const storage::CaseFilter& filter) {
  return !filter.agency.empty() || !filter.category.empty() || !filter.region_code.empty() ||
         !filter.report_type.empty() || !filter.words.empty();
}

}  // namespace lapor::node
