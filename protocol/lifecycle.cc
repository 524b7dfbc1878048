#include "protocol/lifecycle.h"

#include <initializer_list>

namespace lapor::protocol {
namespace {

bool OneOf(std::string_view s, std::initializer_list<std::string_view> options) {
  for (auto o : options) {
    if (s == o) return true;
  }
  return false;
}

// Adds `node` to the case's parties; a case held by two nodes or more is cross-jurisdiction, and
// the national hub holds every cross-jurisdiction case.
void AddParty(v1::CaseState* s, const std::string& node) {
  auto add = [s](const std::string& n) {
    for (const auto& p : s->parties()) {
      if (p == n) return;
    }
    s->add_parties(n);
  };
  if (node.empty()) return;
  add(node);
  if (s->parties_size() > 1) add(std::string(kHubNode));
}

Status NotIn(std::string_view action, const v1::CaseState& s) {
  return Status::Conflict(
      "cannot " + std::string(action) + " a case in status '" + s.status() + "'", "action");
}

}  // namespace

bool IsValidStatus(std::string_view s) {
  return OneOf(s, {status::kSubmitted, status::kDispositioned, status::kProcessing, status::kDone,
                   status::kOnHold, status::kArchived});
}
bool IsValidReportType(std::string_view s) {
  return OneOf(s, {"aspirasi", "pengaduan", "permintaan_informasi", "whistleblowing"});
}
bool IsValidChannel(std::string_view s) { return OneOf(s, {"web", "sms", "app", "social"}); }
bool IsValidArchiveReason(std::string_view s) {
  return OneOf(s, {"not_actionable", "duplicate", "not_our_authority"});
}

std::optional<v1::EventType> EventTypeForAction(std::string_view a) {
  if (a == "verify") return v1::EVENT_VERIFIED;
  if (a == "hold") return v1::EVENT_HELD;
  if (a == "archive") return v1::EVENT_ARCHIVED;
  if (a == "dispose") return v1::EVENT_DISPOSED;
  if (a == "process") return v1::EVENT_PROCESSING;
  if (a == "respond") return v1::EVENT_RESPONDED;
  if (a == "complete") return v1::EVENT_COMPLETED;
  if (a == "reply") return v1::EVENT_REPLIED;
  if (a == "reopen") return v1::EVENT_REOPENED;
  if (a == "forward") return v1::EVENT_FORWARDED;
  if (a == "accept") return v1::EVENT_ACCEPTED;
  if (a == "decline") return v1::EVENT_DECLINED;
  if (a == "erase") return v1::EVENT_ERASED;
  if (a == "rate") return v1::EVENT_RATED;
  return std::nullopt;
}

std::string_view EventTypeName(v1::EventType t) {
  switch (t) {
    case v1::EVENT_SUBMITTED:
      return "submitted";
    case v1::EVENT_VERIFIED:
      return "verified";
    case v1::EVENT_HELD:
      return "held";
    case v1::EVENT_ARCHIVED:
      return "archived";
    case v1::EVENT_DISPOSED:
      return "disposed";
    case v1::EVENT_PROCESSING:
      return "processing";
    case v1::EVENT_RESPONDED:
      return "responded";
    case v1::EVENT_COMPLETED:
      return "completed";
    case v1::EVENT_REPLIED:
      return "replied";
    case v1::EVENT_REOPENED:
      return "reopened";
    case v1::EVENT_ESCALATED:
      return "escalated";
    case v1::EVENT_AUTO_COMPLETED:
      return "auto_completed";
    case v1::EVENT_FORWARDED:
      return "forwarded";
    case v1::EVENT_ACCEPTED:
      return "accepted";
    case v1::EVENT_DECLINED:
      return "declined";
    case v1::EVENT_CITIZEN_MESSAGE:
      return "citizen_message";
    case v1::EVENT_ERASED:
      return "erased";
    case v1::EVENT_RATED:
      return "rated";
    default:
      return "unknown";
  }
}

Status CheckActor(v1::EventType type, const v1::Actor& actor) {
  const bool admin = actor.kind() == v1::ACTOR_OPERATOR && actor.role() == "admin";
  const bool liaison = actor.kind() == v1::ACTOR_OPERATOR && actor.role() == "liaison";
  const bool citizen = actor.kind() == v1::ACTOR_CITIZEN;
  const bool system = actor.kind() == v1::ACTOR_SYSTEM;
  bool ok = false;
  switch (type) {
    case v1::EVENT_SUBMITTED:
      ok = citizen;
      break;
    case v1::EVENT_VERIFIED:
    case v1::EVENT_HELD:
    case v1::EVENT_ARCHIVED:
    case v1::EVENT_DISPOSED:
    case v1::EVENT_FORWARDED:
    case v1::EVENT_ACCEPTED:
    case v1::EVENT_DECLINED:
      ok = admin;
      break;
    case v1::EVENT_PROCESSING:
    case v1::EVENT_RESPONDED:
    case v1::EVENT_COMPLETED:
      ok = liaison;
      break;
    case v1::EVENT_REPLIED:
    case v1::EVENT_CITIZEN_MESSAGE:
    case v1::EVENT_RATED:
      ok = citizen;
      break;
    case v1::EVENT_REOPENED:
      ok = citizen || admin;
      break;
    case v1::EVENT_ESCALATED:
    case v1::EVENT_AUTO_COMPLETED:
      ok = system;
      break;
    case v1::EVENT_ERASED:  // an admin's request, or the retention rule (or the console)
      ok = admin || system;
      break;
    default:
      return Status::InvalidArgument("unknown event type", "type");
  }
  if (!ok) {
    std::string who = citizen  ? "the reporter"
                      : system ? "the node"
                               : "role '" + actor.role() + "'";
    return Status::PermissionDenied(who + " may not cause a '" + std::string(EventTypeName(type)) +
                                    "' event");
  }
  return Status::Ok();
}

Status ApplyEvent(const v1::Event& e, const std::string& hash, v1::CaseState* state) {
  LAPOR_RETURN_IF_ERROR(CheckActor(e.type(), e.actor()));
  v1::CaseState s = *state;
  const auto& a = e.action();
  const int64_t t = e.time_ms();

  if (e.type() == v1::EVENT_SUBMITTED) {
    if (s.event_count() != 0) return Status::Conflict("case already exists", "case_id");
    if (!e.has_submission())
      return Status::InvalidArgument("submission body missing", "submission");
    if (!e.prev_hash().empty())
      return Status::InvalidArgument("first event has a prev_hash", "prev_hash");
    const auto& sub = e.submission();
    s.set_case_id(e.case_id());
    s.set_first_seq(e.seq());
    s.set_status(std::string(status::kSubmitted));
    s.set_report_type(sub.report_type());
    s.set_category(sub.category());
    s.set_region_code(sub.region_code());
    s.set_agency(sub.target_agency());
    s.set_anonymous(sub.anonymous());
    s.set_confidential(sub.confidential());
    s.set_created_ms(t);
    s.set_due_ms(sub.verify_due_ms());
    s.set_due_kind("verification");
    s.set_access_code_hash(sub.access_code_hash());
    if (!sub.confidential()) s.set_title(sub.title());
    s.set_origin_node(e.node_id());
    s.set_owner_node(sub.owner_node().empty() ? e.node_id() : sub.owner_node());
    AddParty(&s, s.origin_node());
    AddParty(&s, s.owner_node());
  } else {
    if (s.event_count() == 0) return Status::NotFound("case does not exist", "case_id");
    if (e.case_id() != s.case_id())
      return Status::InvalidArgument("event is for another case", "case_id");
    if (e.prev_hash() != s.last_hash()) {
      return Status::Conflict("prev_hash does not match the case's last event", "prev_hash");
    }
    if (!e.has_action()) return Status::InvalidArgument("action body missing", "action");
    if (e.type() == v1::EVENT_CITIZEN_MESSAGE) {
      return Status::InvalidArgument("a citizen message is not a link of the case's chain", "type");
    }
    // One owner at a time: during a handoff only the node asked to take the case may act (accept
    // or decline); otherwise only the owner.
    if (e.type() == v1::EVENT_ACCEPTED || e.type() == v1::EVENT_DECLINED) {
      if (s.pending_owner().empty()) {
        return Status::Conflict("the case is not being forwarded", "action");
      }
      if (e.node_id() != s.pending_owner()) {
        return Status::PermissionDenied(
            "only node " + s.pending_owner() +
            ", to which the case is forwarded, may accept or decline it");
      }
    } else if (!s.pending_owner().empty()) {
      return Status::Conflict("the case is being forwarded to node " + s.pending_owner() +
                                  ", which must accept or decline it first",
                              "action");
    } else if (e.node_id() != s.owner_node()) {
      return Status::PermissionDenied("node " + e.node_id() + " does not own the case (node " +
                                      s.owner_node() + " does)");
    }
    if (a.rating() != 0 && e.type() != v1::EVENT_RATED) {
      return Status::InvalidArgument("only a rating event carries a rating", "rating");
    }
    const std::string_view cur = s.status();
    // A confidential case's event may carry its note, agency and reason sealed (committed to by
    // note_commitment, see confidential.h): whoever folds it without them checks the rest.
    const bool sealed = s.confidential() && !a.note_commitment().empty();
    auto restart_response_clock = [&] {
      if (a.response_due_ms() <= 0) {
        return Status::InvalidArgument("response deadline missing", "response_due_ms");
      }
      s.set_due_ms(a.response_due_ms());
      s.set_due_kind("response");
      s.set_escalated(false);
      return Status::Ok();
    };
    auto stop_clock = [&] {
      s.set_due_ms(0);
      s.set_due_kind("");
      s.set_escalated(false);
    };
    switch (e.type()) {
      case v1::EVENT_VERIFIED:
        if (!OneOf(cur, {status::kSubmitted, status::kOnHold})) return NotIn("verify", s);
        if (a.agency().empty() && !sealed) {
          return Status::InvalidArgument("verify needs an agency", "agency");
        }
        if (s.verified_ms() == 0) {
          s.set_verified_ms(t);
          // A case held for more information has its clock stopped: verifying it is on time,
          // unless its deadline had passed before the hold.
          s.set_verified_on_time(!s.missed_before_hold() && (s.due_ms() <= 0 || t <= s.due_ms()));
        }
        s.set_agency(a.agency());
        s.set_status(std::string(status::kDispositioned));
        LAPOR_RETURN_IF_ERROR(restart_response_clock());
        break;
      case v1::EVENT_HELD:
        if (!OneOf(cur, {status::kSubmitted, status::kDispositioned})) return NotIn("hold", s);
        if (s.due_ms() > 0 && t > s.due_ms()) s.set_missed_before_hold(true);
        s.set_status(std::string(status::kOnHold));
        stop_clock();
        break;
      case v1::EVENT_ARCHIVED:
        if (!OneOf(cur, {status::kSubmitted, status::kOnHold})) return NotIn("archive", s);
        if (!(sealed && a.reason().empty()) && !IsValidArchiveReason(a.reason())) {
          return Status::InvalidArgument(
              "reason must be not_actionable, duplicate or not_our_authority", "reason");
        }
        if (a.reason() == "duplicate" && a.duplicate_of().empty()) {
          return Status::InvalidArgument("a duplicate names the original case", "duplicate_of");
        }
        if (a.reason() != "duplicate" && !a.duplicate_of().empty()) {
          return Status::InvalidArgument("only a duplicate names an original case", "duplicate_of");
        }
        s.set_status(std::string(status::kArchived));
        s.set_archive_reason(a.reason());
        s.set_duplicate_of(a.duplicate_of());
        stop_clock();
        break;
      case v1::EVENT_DISPOSED:
        if (cur != status::kDispositioned) return NotIn("dispose", s);
        if (a.agency().empty() && !sealed) {
          return Status::InvalidArgument("dispose needs an agency", "agency");
        }
        if (!a.agency().empty() && a.agency() == s.agency()) {
          return Status::InvalidArgument("the case is already with this agency", "agency");
        }
        s.set_agency(a.agency());
        LAPOR_RETURN_IF_ERROR(restart_response_clock());
        break;
      case v1::EVENT_PROCESSING:
        if (cur != status::kDispositioned) return NotIn("process", s);
        s.set_status(std::string(status::kProcessing));
        break;
      case v1::EVENT_RESPONDED:
        if (!OneOf(cur, {status::kDispositioned, status::kProcessing})) return NotIn("respond", s);
        if (a.note().empty() && a.note_commitment().empty()) {
          return Status::InvalidArgument("respond needs a note", "note");
        }
        if (a.auto_complete_at_ms() <= 0) {
          return Status::InvalidArgument("auto-complete time missing", "auto_complete_at_ms");
        }
        if (s.responded_ms() == 0) {
          s.set_responded_ms(t);
          s.set_responded_on_time(!s.missed_before_hold() && (s.due_ms() <= 0 || t <= s.due_ms()));
        }
        s.set_status(std::string(status::kProcessing));
        s.set_responded(true);
        stop_clock();
        s.set_auto_complete_at_ms(a.auto_complete_at_ms());
        break;
      case v1::EVENT_COMPLETED:
      case v1::EVENT_AUTO_COMPLETED: {
        const bool automatic = e.type() == v1::EVENT_AUTO_COMPLETED;
        if (cur != status::kProcessing) return NotIn(automatic ? "auto-complete" : "complete", s);
        if (!s.responded()) {
          return Status::Conflict("cannot complete a case before the agency has responded",
                                  "action");
        }
        if (automatic && (s.auto_complete_at_ms() <= 0 || t < s.auto_complete_at_ms())) {
          return Status::Conflict("the auto-complete time has not come", "time_ms");
        }
        if (a.reopen_until_ms() <= t) {
          return Status::InvalidArgument("reopen window missing", "reopen_until_ms");
        }
        s.set_status(std::string(status::kDone));
        s.set_auto_completed(automatic);
        s.set_completed_ms(t);
        s.set_auto_complete_at_ms(0);
        s.set_reopen_until_ms(a.reopen_until_ms());
        stop_clock();
        break;
      }
      case v1::EVENT_REPLIED:
        if (cur != status::kProcessing) return NotIn("reply", s);
        if (a.note().empty() && a.note_commitment().empty()) {
          return Status::InvalidArgument("reply needs a note", "note");
        }
        // The agency owes an answer to the reply before it may complete the case.
        s.set_auto_complete_at_ms(0);
        s.set_responded(false);
        LAPOR_RETURN_IF_ERROR(restart_response_clock());
        break;
      case v1::EVENT_REOPENED:
        if (cur != status::kDone) return NotIn("reopen", s);
        if (e.actor().kind() == v1::ACTOR_CITIZEN && t > s.reopen_until_ms()) {
          return Status::Conflict(
              "the reporter may reopen only within 10 working days of completion", "action");
        }
        s.set_status(std::string(status::kProcessing));
        s.set_responded(false);
        s.set_completed_ms(0);
        s.set_reopen_until_ms(0);
        s.set_auto_completed(false);
        s.set_reopen_count(s.reopen_count() + 1);
        LAPOR_RETURN_IF_ERROR(restart_response_clock());
        break;
      case v1::EVENT_RATED:
        // The reporter rates the handling once the case is done, within the reopen window and
        // before any erasure, once per case (a case reopened and done again keeps its rating). A
        // confidential case's rating travels sealed.
        if (cur != status::kDone) return NotIn("rate", s);
        if (s.rated_ms() != 0) {
          return Status::Conflict("the reporter has already rated this case", "rating");
        }
        if (s.reporter_erased() || s.content_erased()) {
          return Status::Conflict("the case's personal data is erased: it can no longer be rated",
                                  "action");
        }
        if (t > s.reopen_until_ms()) {
          return Status::Conflict("the reporter may rate only within 10 working days of completion",
                                  "action");
        }
        if (!(sealed && a.rating() == 0) && (a.rating() < 1 || a.rating() > 5)) {
          return Status::InvalidArgument("rating must be a whole number from 1 to 5", "rating");
        }
        s.set_rating(a.rating());
        s.set_rated_ms(t);
        break;
      case v1::EVENT_ESCALATED:
        if (s.due_ms() <= 0 || s.escalated() || t <= s.due_ms()) {
          return Status::Conflict("no missed deadline to escalate", "due_ms");
        }
        if (a.missed_deadline() != s.due_kind()) {
          return Status::InvalidArgument("escalation names the wrong deadline", "missed_deadline");
        }
        s.set_escalated(true);
        if (!a.to_node().empty()) {
          AddParty(&s, a.to_node());
          s.set_escalation_level(s.escalation_level() + 1);
        }
        break;
      case v1::EVENT_FORWARDED:
        if (!OneOf(cur, {status::kSubmitted, status::kOnHold, status::kDispositioned})) {
          return NotIn("forward", s);
        }
        if (a.to_node().empty()) return Status::InvalidArgument("forward needs a node", "to_node");
        if (a.to_node() == s.owner_node()) {
          return Status::InvalidArgument("the case is already owned by this node", "to_node");
        }
        s.set_pending_owner(a.to_node());
        AddParty(&s, a.to_node());
        break;
      case v1::EVENT_ACCEPTED:
        // The new owner verifies and dispositions the case to one of its own agencies.
        s.set_owner_node(e.node_id());
        s.set_pending_owner("");
        s.set_status(std::string(status::kSubmitted));
        s.set_agency("");
        if (a.response_due_ms() <= 0) {
          return Status::InvalidArgument("verification deadline missing", "response_due_ms");
        }
        s.set_due_ms(a.response_due_ms());
        s.set_due_kind("verification");
        s.set_escalated(false);
        break;
      case v1::EVENT_DECLINED:
        if (a.reason().empty() && !sealed) {
          return Status::InvalidArgument("decline needs a reason", "reason");
        }
        s.set_pending_owner("");
        break;
      case v1::EVENT_ERASED: {
        // In any status; the status and deadlines stay. Erasing twice is refused (nothing left).
        if (a.erased().empty()) return Status::InvalidArgument("erase names what", "erased");
        for (const auto& kind : a.erased()) {
          if (kind == "reporter") {
            if (s.reporter_erased()) {
              return Status::Conflict("the reporter's data is already erased", "erased");
            }
            s.set_reporter_erased(true);
          } else if (kind == "content") {
            if (!s.confidential()) {
              return Status::InvalidArgument("only a confidential case's content is sealed",
                                             "erased");
            }
            if (s.content_erased()) {
              return Status::Conflict("the case's content is already erased", "erased");
            }
            s.set_content_erased(true);
          } else {
            return Status::InvalidArgument("erase names reporter or content", "erased");
          }
        }
        break;
      }
      default:
        return Status::InvalidArgument("unknown event type", "type");
    }
  }
  s.set_updated_ms(t);
  s.set_event_count(s.event_count() + 1);
  s.set_last_hash(hash);
  s.set_last_seq(e.seq());
  *state = std::move(s);
  return Status::Ok();
}

}  // namespace lapor::protocol
