// Unit tests for protocol/lifecycle.h: the case state machine. Every (status, event type) pair of
// the nine operator and reporter events is checked against a transition table written from the
// specification (not read off lifecycle.cc), then actor roles, incomplete bodies, hash chaining,
// escalation, auto-completion and the reporter's reopen window. Every refusal must leave the state
// exactly as it was.

#include "protocol/lifecycle.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "lapor/v1/event.pb.h"
#include "protocol/confidential.h"

namespace lapor::protocol {
namespace {

using Code = Status::Code;
using ::google::protobuf::util::MessageDifferencer;

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;
// 2026-11-30T03:00:00Z: Monday, 10:00 WIB.
constexpr int64_t kStartMs = 1'796'007'600'000;
constexpr char kCaseId[] = "3171-2026-000042";
constexpr char kTargetAgency[] = "dinas-bina-marga";  // named by the reporter
constexpr char kVerifiedAgency[] = "dinas-sda";       // chosen by the admin on verification
constexpr char kOtherAgency[] = "dinas-kesehatan";

const std::vector<std::string> kAllStatuses = {
    std::string(status::kSubmitted),  std::string(status::kDispositioned),
    std::string(status::kProcessing), std::string(status::kDone),
    std::string(status::kOnHold),     std::string(status::kArchived)};

const std::vector<v1::EventType> kOperatorAndReporterEvents = {
    v1::EVENT_VERIFIED,   v1::EVENT_HELD,      v1::EVENT_ARCHIVED,  v1::EVENT_DISPOSED,
    v1::EVENT_PROCESSING, v1::EVENT_RESPONDED, v1::EVENT_COMPLETED, v1::EVENT_REPLIED,
    v1::EVENT_REOPENED,   v1::EVENT_RATED};

const std::vector<v1::EventType> kAllEvents = {
    v1::EVENT_SUBMITTED, v1::EVENT_VERIFIED,   v1::EVENT_HELD,      v1::EVENT_ARCHIVED,
    v1::EVENT_DISPOSED,  v1::EVENT_PROCESSING, v1::EVENT_RESPONDED, v1::EVENT_COMPLETED,
    v1::EVENT_REPLIED,   v1::EVENT_REOPENED,   v1::EVENT_ESCALATED, v1::EVENT_AUTO_COMPLETED,
    v1::EVENT_RATED};

// Any distinct 32-byte string per event stands in for the envelope hash.
std::string HashFor(uint64_t seq) { return std::string(32, static_cast<char>(seq)); }

// ---------------------------------------------------------------------------------------------
// Actors.

v1::Actor Operator(const std::string& role, uint64_t id) {
  v1::Actor a;
  a.set_kind(v1::ACTOR_OPERATOR);
  a.set_operator_id(id);
  a.set_role(role);
  return a;
}
v1::Actor Admin() { return Operator("admin", 1); }
v1::Actor Liaison() { return Operator("liaison", 2); }
v1::Actor Auditor() { return Operator("auditor", 3); }
v1::Actor Citizen() {
  v1::Actor a;
  a.set_kind(v1::ACTOR_CITIZEN);
  return a;
}
v1::Actor System() {
  v1::Actor a;
  a.set_kind(v1::ACTOR_SYSTEM);
  return a;
}

struct NamedActor {
  const char* name;
  v1::Actor actor;
};

std::vector<NamedActor> AllActors() {
  v1::Actor unspecified;  // ACTOR_UNSPECIFIED
  return {{"admin", Admin()},          {"liaison", Liaison()},
          {"auditor", Auditor()},      {"citizen", Citizen()},
          {"system", System()},        {"operator_without_role", Operator("", 4)},
          {"unspecified", unspecified}};
}

// Who may cause each event, per the specification.
bool MayCause(v1::EventType type, std::string_view actor) {
  switch (type) {
    case v1::EVENT_SUBMITTED:
    case v1::EVENT_REPLIED:
    case v1::EVENT_RATED:
      return actor == "citizen";
    case v1::EVENT_VERIFIED:
    case v1::EVENT_HELD:
    case v1::EVENT_ARCHIVED:
    case v1::EVENT_DISPOSED:
      return actor == "admin";
    case v1::EVENT_PROCESSING:
    case v1::EVENT_RESPONDED:
    case v1::EVENT_COMPLETED:
      return actor == "liaison";
    case v1::EVENT_REOPENED:
      return actor == "citizen" || actor == "admin";
    case v1::EVENT_ESCALATED:
    case v1::EVENT_AUTO_COMPLETED:
      return actor == "system";
    default:
      return false;
  }
}

// The actor that causes `type` in the ordinary course (the reporter for a reopen).
v1::Actor UsualActor(v1::EventType type) {
  for (const auto& a : AllActors()) {
    if (MayCause(type, a.name) && std::string_view(a.name) != "admin") return a.actor;
  }
  return Admin();
}

// ---------------------------------------------------------------------------------------------
// Building cases from real event sequences.

struct Case {
  v1::CaseState state;
  uint64_t next_seq = 1;
  int64_t now_ms = kStartMs;
};

// An event that follows `c` one hour after its last event, with a complete body for its type, so
// that only the case's status, the actor, or what a test changes afterwards can refuse it.
v1::Event NextEvent(const Case& c, v1::EventType type, const v1::Actor& actor) {
  v1::Event e;
  e.set_node_id("jakarta-pusat");
  e.set_seq(c.next_seq);
  e.set_case_id(kCaseId);
  const int64_t t = c.state.event_count() == 0 ? c.now_ms : c.now_ms + kHourMs;
  e.set_time_ms(t);
  *e.mutable_actor() = actor;
  e.set_type(type);
  e.set_prev_hash(c.state.last_hash());
  if (type == v1::EVENT_SUBMITTED) {
    auto* sub = e.mutable_submission();
    sub->set_title("Jalan berlubang di Jl. Salemba Raya");
    sub->set_description("Lubang besar di depan halte, membahayakan pengendara motor.");
    sub->set_category("infrastruktur");
    sub->set_report_type("pengaduan");
    sub->set_region_code("31.71");
    sub->set_target_agency(kTargetAgency);
    sub->set_channel("web");
    sub->set_access_code_hash(std::string(32, '\xac'));
    sub->set_verify_due_ms(t + 3 * kDayMs);
    return e;
  }
  auto* a = e.mutable_action();
  switch (type) {
    case v1::EVENT_VERIFIED:
      a->set_agency(kVerifiedAgency);
      a->set_response_due_ms(t + 5 * kDayMs);
      break;
    case v1::EVENT_HELD:
      a->set_note("Menunggu kelengkapan data dari pelapor.");
      break;
    case v1::EVENT_ARCHIVED:
      a->set_reason("not_actionable");
      break;
    case v1::EVENT_DISPOSED:
      a->set_agency(c.state.agency() == kOtherAgency ? kVerifiedAgency : kOtherAgency);
      a->set_response_due_ms(t + 5 * kDayMs);
      break;
    case v1::EVENT_PROCESSING:
      break;
    case v1::EVENT_RESPONDED:
      a->set_note("Perbaikan dijadwalkan pekan depan.");
      a->set_auto_complete_at_ms(t + 10 * kDayMs);
      break;
    case v1::EVENT_COMPLETED:
    case v1::EVENT_AUTO_COMPLETED:
      a->set_reopen_until_ms(t + 10 * kDayMs);
      break;
    case v1::EVENT_REPLIED:
      a->set_note("Belum diperbaiki sampai hari ini.");
      a->set_response_due_ms(t + 5 * kDayMs);
      break;
    case v1::EVENT_REOPENED:
      a->set_note("Lubangnya muncul lagi.");
      a->set_response_due_ms(t + 5 * kDayMs);
      break;
    case v1::EVENT_ESCALATED:
      a->set_missed_deadline(c.state.due_kind());
      break;
    case v1::EVENT_RATED:
      a->set_rating(4);
      a->set_note("Cepat ditangani, terima kasih.");
      break;
    default:
      break;
  }
  return e;
}

Status Apply(Case* c, const v1::Event& e) {
  Status st = ApplyEvent(e, HashFor(e.seq()), &c->state);
  if (st.ok()) {
    ++c->next_seq;
    c->now_ms = e.time_ms();
  }
  return st;
}

// Applies `e`, expecting success and the bookkeeping that goes with it.
void ExpectApplied(Case* c, const v1::Event& e) {
  const uint64_t count_before = c->state.event_count();
  Status st = Apply(c, e);
  ASSERT_TRUE(st.ok()) << EventTypeName(e.type()) << ": " << st.ToString();
  EXPECT_EQ(c->state.event_count(), count_before + 1);
  EXPECT_EQ(c->state.last_hash(), HashFor(e.seq()));
  EXPECT_EQ(c->state.last_seq(), e.seq());
  EXPECT_EQ(c->state.updated_ms(), e.time_ms());
}

// Applies `e`, expecting a refusal with `code` that leaves the state exactly as it was; returns
// the refusal.
Status ExpectRefused(Case* c, const v1::Event& e, Code code) {
  const v1::CaseState before = c->state;
  v1::CaseState scratch = c->state;
  Status st = ApplyEvent(e, HashFor(e.seq()), &scratch);
  EXPECT_FALSE(st.ok()) << EventTypeName(e.type()) << " was accepted in status '" << before.status()
                        << "'";
  EXPECT_EQ(static_cast<int>(st.code()), static_cast<int>(code)) << st.ToString();
  EXPECT_TRUE(MessageDifferencer::Equals(before, scratch))
      << "state changed on refusal:\nbefore: " << before.ShortDebugString()
      << "\nafter:  " << scratch.ShortDebugString();
  return st;
}
// The same where only the expectations matter.
void CheckRefused(Case* c, const v1::Event& e, Code code) {
  [[maybe_unused]] Status checked_inside = ExpectRefused(c, e, code);
}

void Step(Case* c, v1::EventType type) { ExpectApplied(c, NextEvent(*c, type, UsualActor(type))); }

// The events an actual case goes through to reach `status`. The path to diproses includes a
// response, so that the case can then be completed.
std::vector<v1::EventType> PathTo(std::string_view status) {
  if (status == status::kSubmitted) return {v1::EVENT_SUBMITTED};
  if (status == status::kDispositioned) return {v1::EVENT_SUBMITTED, v1::EVENT_VERIFIED};
  if (status == status::kProcessing) {
    return {v1::EVENT_SUBMITTED, v1::EVENT_VERIFIED, v1::EVENT_PROCESSING, v1::EVENT_RESPONDED};
  }
  if (status == status::kDone) {
    return {v1::EVENT_SUBMITTED, v1::EVENT_VERIFIED, v1::EVENT_PROCESSING, v1::EVENT_RESPONDED,
            v1::EVENT_COMPLETED};
  }
  if (status == status::kOnHold) return {v1::EVENT_SUBMITTED, v1::EVENT_HELD};
  if (status == status::kArchived) return {v1::EVENT_SUBMITTED, v1::EVENT_ARCHIVED};
  ADD_FAILURE() << "no path to status " << status;
  return {};
}

Case BuildCase(std::string_view status) {
  Case c;
  for (auto type : PathTo(status)) {
    SCOPED_TRACE(std::string("building to ") + std::string(status));
    Step(&c, type);
  }
  EXPECT_EQ(c.state.status(), status);
  EXPECT_EQ(c.state.event_count(), PathTo(status).size());
  return c;
}

// ---------------------------------------------------------------------------------------------
// The transition table, written from the specification.

struct Transition {
  v1::EventType type;
  std::vector<std::string_view> from;
  std::string_view to;
};

const std::vector<Transition>& Spec() {
  static const std::vector<Transition> kSpec = {
      {v1::EVENT_VERIFIED, {status::kSubmitted, status::kOnHold}, status::kDispositioned},
      {v1::EVENT_HELD, {status::kSubmitted, status::kDispositioned}, status::kOnHold},
      {v1::EVENT_ARCHIVED, {status::kSubmitted, status::kOnHold}, status::kArchived},
      {v1::EVENT_DISPOSED, {status::kDispositioned}, status::kDispositioned},
      {v1::EVENT_PROCESSING, {status::kDispositioned}, status::kProcessing},
      {v1::EVENT_RESPONDED, {status::kDispositioned, status::kProcessing}, status::kProcessing},
      {v1::EVENT_COMPLETED, {status::kProcessing}, status::kDone},
      {v1::EVENT_REPLIED, {status::kProcessing}, status::kProcessing},
      {v1::EVENT_REOPENED, {status::kDone}, status::kProcessing},
      {v1::EVENT_RATED, {status::kDone}, status::kDone},
  };
  return kSpec;
}

const Transition& SpecFor(v1::EventType type) {
  for (const auto& t : Spec()) {
    if (t.type == type) return t;
  }
  ADD_FAILURE() << "no transition for " << EventTypeName(type);
  return Spec().front();
}

bool Allowed(const Transition& t, std::string_view from) {
  for (auto s : t.from) {
    if (s == from) return true;
  }
  return false;
}

class LifecycleTransitionTest
    : public ::testing::TestWithParam<std::tuple<std::string, v1::EventType>> {};

TEST_P(LifecycleTransitionTest, FollowsTheSpecification) {
  const auto& [from, type] = GetParam();
  const Transition& rule = SpecFor(type);
  Case c = BuildCase(from);
  const v1::Event e = NextEvent(c, type, UsualActor(type));
  if (Allowed(rule, from)) {
    ExpectApplied(&c, e);
    EXPECT_EQ(c.state.status(), rule.to);
  } else {
    Status st = ExpectRefused(&c, e, Code::kConflict);
    EXPECT_NE(st.message().find("'" + from + "'"), std::string::npos)
        << "the refusal should name the current status: " << st.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Lifecycle, LifecycleTransitionTest,
    ::testing::Combine(::testing::ValuesIn(kAllStatuses),
                       ::testing::ValuesIn(kOperatorAndReporterEvents)),
    [](const ::testing::TestParamInfo<LifecycleTransitionTest::ParamType>& info) {
      return std::string(EventTypeName(std::get<1>(info.param))) + "_from_" +
             std::get<0>(info.param);
    });

// The table has 6 x 10 = 60 cells; make sure the specification allows exactly the 14 it lists.

// The figures the statistics report counts: the first verification and response with whether
// each met its deadline, reopenings, and whether the last completion was automatic.
TEST(LifecycleFiguresTest, FirstVerificationAndResponseAreKeptWithTheirDeadlines) {
  Case c;
  Step(&c, v1::EVENT_SUBMITTED);
  EXPECT_EQ(c.state.verified_ms(), 0);
  // Verified 4 days after filing: past the 3-day verification deadline.
  c.now_ms += 4 * kDayMs;
  Step(&c, v1::EVENT_VERIFIED);
  const int64_t verified = c.state.verified_ms();
  EXPECT_EQ(verified, c.now_ms);
  EXPECT_FALSE(c.state.verified_on_time());
  Step(&c, v1::EVENT_PROCESSING);
  Step(&c, v1::EVENT_RESPONDED);  // an hour later: on time
  const int64_t responded = c.state.responded_ms();
  EXPECT_EQ(responded, c.now_ms);
  EXPECT_TRUE(c.state.responded_on_time());
  // The reporter replies; the second response, late, changes neither first figure.
  Step(&c, v1::EVENT_REPLIED);
  c.now_ms += 9 * kDayMs;
  Step(&c, v1::EVENT_RESPONDED);
  EXPECT_EQ(c.state.responded_ms(), responded);
  EXPECT_TRUE(c.state.responded_on_time());
  c.now_ms += 11 * kDayMs;
  ExpectApplied(&c, NextEvent(c, v1::EVENT_AUTO_COMPLETED, System()));
  EXPECT_TRUE(c.state.auto_completed());
  EXPECT_EQ(c.state.reopen_count(), 0);
  ExpectApplied(&c, NextEvent(c, v1::EVENT_REOPENED, Admin()));
  EXPECT_EQ(c.state.reopen_count(), 1);
  EXPECT_FALSE(c.state.auto_completed());
  Step(&c, v1::EVENT_RESPONDED);
  Step(&c, v1::EVENT_COMPLETED);
  EXPECT_FALSE(c.state.auto_completed());  // completed by the liaison this time
  EXPECT_EQ(c.state.verified_ms(), verified);
  EXPECT_EQ(c.state.reopen_count(), 1);
}

TEST(LifecycleFiguresTest, AVerificationAfterAHoldIsOnTimeUnlessTheDeadlineHadPassed) {
  Case c;
  Step(&c, v1::EVENT_SUBMITTED);
  Step(&c, v1::EVENT_HELD);  // the clock stops while the reporter is asked for more
  c.now_ms += 10 * kDayMs;
  Step(&c, v1::EVENT_VERIFIED);
  EXPECT_TRUE(c.state.verified_on_time());

  // Held only after its deadline had passed: the hold does not make it on time.
  Case late;
  Step(&late, v1::EVENT_SUBMITTED);
  late.now_ms += 4 * kDayMs;
  Step(&late, v1::EVENT_HELD);
  EXPECT_TRUE(late.state.missed_before_hold());
  Step(&late, v1::EVENT_VERIFIED);
  EXPECT_FALSE(late.state.verified_on_time());
}

TEST(LifecycleSpecTest, TableHasFourteenAllowedCells) {
  int allowed = 0;
  for (const auto& t : Spec()) {
    for (const auto& s : kAllStatuses) allowed += Allowed(t, s) ? 1 : 0;
  }
  EXPECT_EQ(allowed, 14);
  EXPECT_EQ(Spec().size(), kOperatorAndReporterEvents.size());
}

TEST(LifecycleSpecTest, BuildCaseReachesEveryStatus) {
  for (const auto& s : kAllStatuses) {
    SCOPED_TRACE(s);
    Case c = BuildCase(s);
    EXPECT_EQ(c.state.status(), s);
    EXPECT_EQ(c.state.last_seq(), c.next_seq - 1);
    EXPECT_EQ(c.state.last_hash(), HashFor(c.next_seq - 1));
  }
}

// ---------------------------------------------------------------------------------------------
// Actors.

TEST(LifecycleActorTest, CheckActorMatrix) {
  for (auto type : kAllEvents) {
    for (const auto& a : AllActors()) {
      SCOPED_TRACE(std::string(EventTypeName(type)) + " by " + a.name);
      Status st = CheckActor(type, a.actor);
      if (MayCause(type, a.name)) {
        EXPECT_TRUE(st.ok()) << st.ToString();
      } else {
        EXPECT_EQ(static_cast<int>(st.code()), static_cast<int>(Code::kPermissionDenied))
            << st.ToString();
      }
    }
  }
}

// For each of the nine events, in a status where it is allowed, every other actor is refused with
// PermissionDenied and the state does not move.
TEST(LifecycleActorTest, ApplyEventRefusesTheWrongActorInAnAllowedStatus) {
  for (const auto& rule : Spec()) {
    for (const auto& a : AllActors()) {
      if (MayCause(rule.type, a.name)) continue;
      SCOPED_TRACE(std::string(EventTypeName(rule.type)) + " by " + a.name);
      Case c = BuildCase(rule.from.front());
      CheckRefused(&c, NextEvent(c, rule.type, a.actor), Code::kPermissionDenied);
    }
  }
}

TEST(LifecycleActorTest, AuditorCanDoNothingInAnyStatus) {
  for (const auto& s : kAllStatuses) {
    for (auto type : kAllEvents) {
      SCOPED_TRACE(std::string(EventTypeName(type)) + " in " + s);
      Case c = BuildCase(s);
      CheckRefused(&c, NextEvent(c, type, Auditor()), Code::kPermissionDenied);
    }
  }
  Case empty;
  CheckRefused(&empty, NextEvent(empty, v1::EVENT_SUBMITTED, Auditor()), Code::kPermissionDenied);
}

TEST(LifecycleActorTest, LiaisonCannotVerify) {
  Case c = BuildCase(status::kSubmitted);
  Status st =
      ExpectRefused(&c, NextEvent(c, v1::EVENT_VERIFIED, Liaison()), Code::kPermissionDenied);
  EXPECT_NE(st.message().find("liaison"), std::string::npos) << st.message();
}

TEST(LifecycleActorTest, AdminCannotRespondProcessOrComplete) {
  Case c = BuildCase(status::kDispositioned);
  CheckRefused(&c, NextEvent(c, v1::EVENT_RESPONDED, Admin()), Code::kPermissionDenied);
  CheckRefused(&c, NextEvent(c, v1::EVENT_PROCESSING, Admin()), Code::kPermissionDenied);
  Case p = BuildCase(status::kProcessing);
  CheckRefused(&p, NextEvent(p, v1::EVENT_COMPLETED, Admin()), Code::kPermissionDenied);
  CheckRefused(&p, NextEvent(p, v1::EVENT_REPLIED, Admin()), Code::kPermissionDenied);
}

TEST(LifecycleActorTest, CitizenCannotVerifyOrComplete) {
  Case c = BuildCase(status::kSubmitted);
  CheckRefused(&c, NextEvent(c, v1::EVENT_VERIFIED, Citizen()), Code::kPermissionDenied);
  CheckRefused(&c, NextEvent(c, v1::EVENT_ARCHIVED, Citizen()), Code::kPermissionDenied);
  Case p = BuildCase(status::kProcessing);
  CheckRefused(&p, NextEvent(p, v1::EVENT_COMPLETED, Citizen()), Code::kPermissionDenied);
}

TEST(LifecycleActorTest, EscalationAndAutoCompletionAreTheNodesOnly) {
  for (const auto& a : AllActors()) {
    if (std::string_view(a.name) == "system") continue;
    SCOPED_TRACE(a.name);
    Case c = BuildCase(status::kSubmitted);
    v1::Event esc = NextEvent(c, v1::EVENT_ESCALATED, a.actor);
    esc.set_time_ms(c.state.due_ms() + 1);
    CheckRefused(&c, esc, Code::kPermissionDenied);

    Case p = BuildCase(status::kProcessing);
    v1::Event ac = NextEvent(p, v1::EVENT_AUTO_COMPLETED, a.actor);
    ac.set_time_ms(p.state.auto_complete_at_ms() + 1);
    CheckRefused(&p, ac, Code::kPermissionDenied);
  }
  // And the node may not act for operators or the reporter.
  Case c = BuildCase(status::kSubmitted);
  CheckRefused(&c, NextEvent(c, v1::EVENT_VERIFIED, System()), Code::kPermissionDenied);
  Case d = BuildCase(status::kDone);
  CheckRefused(&d, NextEvent(d, v1::EVENT_REOPENED, System()), Code::kPermissionDenied);
}

TEST(LifecycleActorTest, ActorIsCheckedBeforeStatus) {
  // A liaison verifying a case in the wrong status is told about the role, not the status.
  Case c = BuildCase(status::kProcessing);
  CheckRefused(&c, NextEvent(c, v1::EVENT_VERIFIED, Liaison()), Code::kPermissionDenied);
}

// ---------------------------------------------------------------------------------------------
// Submission and the hash chain.

TEST(LifecycleSubmitTest, SubmissionCreatesTheCase) {
  Case c;
  const v1::Event e = NextEvent(c, v1::EVENT_SUBMITTED, Citizen());
  ExpectApplied(&c, e);
  const auto& s = c.state;
  EXPECT_EQ(s.case_id(), kCaseId);
  EXPECT_EQ(s.status(), status::kSubmitted);
  EXPECT_EQ(s.first_seq(), e.seq());
  EXPECT_EQ(s.event_count(), 1u);
  EXPECT_EQ(s.agency(), kTargetAgency);
  EXPECT_EQ(s.report_type(), "pengaduan");
  EXPECT_EQ(s.category(), "infrastruktur");
  EXPECT_EQ(s.region_code(), "31.71");
  EXPECT_EQ(s.title(), e.submission().title());
  EXPECT_EQ(s.access_code_hash(), e.submission().access_code_hash());
  EXPECT_EQ(s.created_ms(), e.time_ms());
  EXPECT_EQ(s.updated_ms(), e.time_ms());
  EXPECT_EQ(s.due_ms(), e.submission().verify_due_ms());
  EXPECT_EQ(s.due_kind(), "verification");
  EXPECT_FALSE(s.escalated());
  EXPECT_FALSE(s.responded());
}

TEST(LifecycleSubmitTest, SubmittedTwiceIsAConflict) {
  Case c = BuildCase(status::kSubmitted);
  v1::Event again = NextEvent(c, v1::EVENT_SUBMITTED, Citizen());
  again.clear_prev_hash();
  CheckRefused(&c, again, Code::kConflict);
  // Also later in the case's life, and with the chain's prev_hash.
  Case d = BuildCase(status::kDone);
  CheckRefused(&d, NextEvent(d, v1::EVENT_SUBMITTED, Citizen()), Code::kConflict);
}

TEST(LifecycleSubmitTest, SubmissionNeedsItsBodyAndNoPrevHash) {
  Case c;
  v1::Event no_body = NextEvent(c, v1::EVENT_SUBMITTED, Citizen());
  no_body.clear_submission();
  EXPECT_EQ(ExpectRefused(&c, no_body, Code::kInvalidArgument).field(), "submission");

  v1::Event with_action = NextEvent(c, v1::EVENT_SUBMITTED, Citizen());
  with_action.mutable_action()->set_note("not a submission");
  EXPECT_EQ(ExpectRefused(&c, with_action, Code::kInvalidArgument).field(), "submission");

  v1::Event prev = NextEvent(c, v1::EVENT_SUBMITTED, Citizen());
  prev.set_prev_hash(HashFor(7));
  EXPECT_EQ(ExpectRefused(&c, prev, Code::kInvalidArgument).field(), "prev_hash");
}

TEST(LifecycleSubmitTest, ActionOnACaseThatDoesNotExist) {
  Case c;
  EXPECT_EQ(ExpectRefused(&c, NextEvent(c, v1::EVENT_VERIFIED, Admin()), Code::kNotFound).field(),
            "case_id");
}

TEST(LifecycleChainTest, PrevHashMismatchIsAConflict) {
  Case c = BuildCase(status::kDispositioned);  // events 1 and 2
  v1::Event stale = NextEvent(c, v1::EVENT_PROCESSING, Liaison());
  stale.set_prev_hash(HashFor(1));  // the submission's, not the verification's
  EXPECT_EQ(ExpectRefused(&c, stale, Code::kConflict).field(), "prev_hash");

  v1::Event empty = NextEvent(c, v1::EVENT_PROCESSING, Liaison());
  empty.clear_prev_hash();
  EXPECT_EQ(ExpectRefused(&c, empty, Code::kConflict).field(), "prev_hash");

  v1::Event other = NextEvent(c, v1::EVENT_PROCESSING, Liaison());
  other.set_prev_hash(std::string(32, '\x7f'));
  EXPECT_EQ(ExpectRefused(&c, other, Code::kConflict).field(), "prev_hash");

  v1::Event truncated = NextEvent(c, v1::EVENT_PROCESSING, Liaison());
  truncated.set_prev_hash(HashFor(2).substr(0, 31));
  EXPECT_EQ(ExpectRefused(&c, truncated, Code::kConflict).field(), "prev_hash");

  // The correct one goes through.
  ExpectApplied(&c, NextEvent(c, v1::EVENT_PROCESSING, Liaison()));
}

TEST(LifecycleChainTest, EventForAnotherCase) {
  Case c = BuildCase(status::kSubmitted);
  v1::Event e = NextEvent(c, v1::EVENT_VERIFIED, Admin());
  e.set_case_id("3171-2026-000043");
  EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "case_id");
}

TEST(LifecycleChainTest, ActionBodyMissing) {
  Case c = BuildCase(status::kSubmitted);
  v1::Event e = NextEvent(c, v1::EVENT_HELD, Admin());
  e.clear_action();
  EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "action");
}

TEST(LifecycleChainTest, UnknownEventType) {
  Case c = BuildCase(status::kSubmitted);
  v1::Event e = NextEvent(c, v1::EVENT_UNSPECIFIED, Admin());
  EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "type");
}

TEST(LifecycleChainTest, EveryAppliedEventUpdatesTheBookkeeping) {
  Case c;
  const std::vector<v1::EventType> path = {
      v1::EVENT_SUBMITTED,  v1::EVENT_HELD,      v1::EVENT_VERIFIED,  v1::EVENT_DISPOSED,
      v1::EVENT_PROCESSING, v1::EVENT_RESPONDED, v1::EVENT_REPLIED,   v1::EVENT_RESPONDED,
      v1::EVENT_COMPLETED,  v1::EVENT_REOPENED,  v1::EVENT_RESPONDED, v1::EVENT_COMPLETED};
  uint64_t n = 0;
  for (auto type : path) {
    SCOPED_TRACE(EventTypeName(type));
    const v1::Event e = NextEvent(c, type, UsualActor(type));
    ExpectApplied(&c, e);
    ++n;
    EXPECT_EQ(c.state.event_count(), n);
    EXPECT_EQ(c.state.last_seq(), e.seq());
    EXPECT_EQ(c.state.last_hash(), HashFor(e.seq()));
    EXPECT_EQ(c.state.first_seq(), 1u);
    EXPECT_EQ(c.state.created_ms(), kStartMs);
  }
  EXPECT_EQ(c.state.status(), status::kDone);
}

TEST(LifecycleChainTest, SeqNeedNotBeConsecutiveWithinACase) {
  // seq is node-wide: other cases' events fall between this case's.
  Case c = BuildCase(status::kSubmitted);
  c.next_seq = 40;
  const v1::Event e = NextEvent(c, v1::EVENT_VERIFIED, Admin());
  ExpectApplied(&c, e);
  EXPECT_EQ(c.state.last_seq(), 40u);
  EXPECT_EQ(c.state.first_seq(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Bodies.

TEST(LifecycleBodyTest, VerifyNeedsAnAgencyAndAResponseDeadline) {
  Case c = BuildCase(status::kSubmitted);
  v1::Event no_agency = NextEvent(c, v1::EVENT_VERIFIED, Admin());
  no_agency.mutable_action()->clear_agency();
  EXPECT_EQ(ExpectRefused(&c, no_agency, Code::kInvalidArgument).field(), "agency");

  v1::Event no_due = NextEvent(c, v1::EVENT_VERIFIED, Admin());
  no_due.mutable_action()->clear_response_due_ms();
  EXPECT_EQ(ExpectRefused(&c, no_due, Code::kInvalidArgument).field(), "response_due_ms");

  const v1::Event ok = NextEvent(c, v1::EVENT_VERIFIED, Admin());
  ExpectApplied(&c, ok);
  EXPECT_EQ(c.state.agency(), kVerifiedAgency);
  EXPECT_EQ(c.state.due_ms(), ok.action().response_due_ms());
  EXPECT_EQ(c.state.due_kind(), "response");
}

TEST(LifecycleBodyTest, HoldStopsTheClockAndVerifyRestartsIt) {
  Case c = BuildCase(status::kSubmitted);
  Step(&c, v1::EVENT_HELD);
  EXPECT_EQ(c.state.due_ms(), 0);
  EXPECT_EQ(c.state.due_kind(), "");
  const v1::Event v = NextEvent(c, v1::EVENT_VERIFIED, Admin());
  ExpectApplied(&c, v);
  EXPECT_EQ(c.state.status(), status::kDispositioned);
  EXPECT_EQ(c.state.due_ms(), v.action().response_due_ms());
  EXPECT_EQ(c.state.due_kind(), "response");
}

TEST(LifecycleBodyTest, ArchiveNeedsAValidReason) {
  for (const char* bad : {"", "spam", "Duplicate", "not actionable", "selesai"}) {
    SCOPED_TRACE(bad);
    Case c = BuildCase(status::kSubmitted);
    v1::Event e = NextEvent(c, v1::EVENT_ARCHIVED, Admin());
    e.mutable_action()->set_reason(bad);
    EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "reason");
  }
  for (const char* good : {"not_actionable", "not_our_authority"}) {
    SCOPED_TRACE(good);
    Case c = BuildCase(status::kOnHold);
    v1::Event e = NextEvent(c, v1::EVENT_ARCHIVED, Admin());
    e.mutable_action()->set_reason(good);
    ExpectApplied(&c, e);
    EXPECT_EQ(c.state.status(), status::kArchived);
    EXPECT_EQ(c.state.archive_reason(), good);
    EXPECT_EQ(c.state.due_ms(), 0);
  }
}

TEST(LifecycleBodyTest, ArchiveAsDuplicateNamesTheOriginal) {
  Case c = BuildCase(status::kSubmitted);
  v1::Event e = NextEvent(c, v1::EVENT_ARCHIVED, Admin());
  e.mutable_action()->set_reason("duplicate");
  EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "duplicate_of");
  e.mutable_action()->set_duplicate_of("3171-2026-000007");
  ExpectApplied(&c, e);
  EXPECT_EQ(c.state.archive_reason(), "duplicate");
  EXPECT_EQ(c.state.duplicate_of(), "3171-2026-000007");
}

TEST(LifecycleBodyTest, DisposeNeedsAnotherAgency) {
  Case c = BuildCase(status::kDispositioned);
  ASSERT_EQ(c.state.agency(), kVerifiedAgency);
  v1::Event same = NextEvent(c, v1::EVENT_DISPOSED, Admin());
  same.mutable_action()->set_agency(kVerifiedAgency);
  EXPECT_EQ(ExpectRefused(&c, same, Code::kInvalidArgument).field(), "agency");

  v1::Event none = NextEvent(c, v1::EVENT_DISPOSED, Admin());
  none.mutable_action()->clear_agency();
  EXPECT_EQ(ExpectRefused(&c, none, Code::kInvalidArgument).field(), "agency");

  v1::Event no_due = NextEvent(c, v1::EVENT_DISPOSED, Admin());
  no_due.mutable_action()->clear_response_due_ms();
  EXPECT_EQ(ExpectRefused(&c, no_due, Code::kInvalidArgument).field(), "response_due_ms");

  const v1::Event ok = NextEvent(c, v1::EVENT_DISPOSED, Admin());
  ASSERT_EQ(ok.action().agency(), kOtherAgency);
  ExpectApplied(&c, ok);
  EXPECT_EQ(c.state.status(), status::kDispositioned);
  EXPECT_EQ(c.state.agency(), kOtherAgency);
  EXPECT_EQ(c.state.due_ms(), ok.action().response_due_ms());
  EXPECT_EQ(c.state.due_kind(), "response");
}

TEST(LifecycleBodyTest, RespondNeedsANoteAndAnAutoCompleteTime) {
  Case c = BuildCase(status::kDispositioned);
  v1::Event no_note = NextEvent(c, v1::EVENT_RESPONDED, Liaison());
  no_note.mutable_action()->clear_note();
  EXPECT_EQ(ExpectRefused(&c, no_note, Code::kInvalidArgument).field(), "note");

  v1::Event no_auto = NextEvent(c, v1::EVENT_RESPONDED, Liaison());
  no_auto.mutable_action()->clear_auto_complete_at_ms();
  EXPECT_EQ(ExpectRefused(&c, no_auto, Code::kInvalidArgument).field(), "auto_complete_at_ms");

  // A sealed note (confidential case) counts as a note. Responding straight from terdisposisi.
  v1::Event sealed = NextEvent(c, v1::EVENT_RESPONDED, Liaison());
  sealed.mutable_action()->clear_note();
  sealed.mutable_action()->set_note_commitment(std::string(32, '\x5e'));
  ExpectApplied(&c, sealed);
  EXPECT_EQ(c.state.status(), status::kProcessing);
  EXPECT_TRUE(c.state.responded());
  EXPECT_EQ(c.state.due_ms(), 0);
  EXPECT_EQ(c.state.auto_complete_at_ms(), sealed.action().auto_complete_at_ms());
}

TEST(LifecycleBodyTest, ReplyNeedsANote) {
  Case c = BuildCase(status::kProcessing);
  v1::Event e = NextEvent(c, v1::EVENT_REPLIED, Citizen());
  e.mutable_action()->clear_note();
  EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "note");
}

TEST(LifecycleBodyTest, CompleteOnlyAfterAResponse) {
  Case c = BuildCase(status::kDispositioned);
  Step(&c, v1::EVENT_PROCESSING);
  ASSERT_EQ(c.state.status(), status::kProcessing);
  ASSERT_FALSE(c.state.responded());
  CheckRefused(&c, NextEvent(c, v1::EVENT_COMPLETED, Liaison()), Code::kConflict);
  Step(&c, v1::EVENT_RESPONDED);
  const v1::Event done = NextEvent(c, v1::EVENT_COMPLETED, Liaison());
  ExpectApplied(&c, done);
  EXPECT_EQ(c.state.status(), status::kDone);
  EXPECT_EQ(c.state.completed_ms(), done.time_ms());
  EXPECT_EQ(c.state.reopen_until_ms(), done.action().reopen_until_ms());
  EXPECT_EQ(c.state.auto_complete_at_ms(), 0);
  EXPECT_EQ(c.state.due_ms(), 0);
}

// ---------------------------------------------------------------------------------------------
// Reply, auto-completion, escalation, reopening.

TEST(LifecycleReplyTest, ReplyStopsAutoCompletionAndRestartsTheResponseClock) {
  Case c = BuildCase(status::kProcessing);
  const int64_t auto_at = c.state.auto_complete_at_ms();
  ASSERT_GT(auto_at, 0);
  const v1::Event reply = NextEvent(c, v1::EVENT_REPLIED, Citizen());
  ExpectApplied(&c, reply);
  EXPECT_EQ(c.state.status(), status::kProcessing);
  EXPECT_EQ(c.state.auto_complete_at_ms(), 0);
  EXPECT_EQ(c.state.due_ms(), reply.action().response_due_ms());
  EXPECT_EQ(c.state.due_kind(), "response");

  // Long after the old auto-complete time, the node may still not complete the case.
  v1::Event ac = NextEvent(c, v1::EVENT_AUTO_COMPLETED, System());
  ac.set_time_ms(auto_at + 30 * kDayMs);
  CheckRefused(&c, ac, Code::kConflict);

  // A new response sets a new auto-complete time.
  Step(&c, v1::EVENT_RESPONDED);
  EXPECT_GT(c.state.auto_complete_at_ms(), auto_at);
}

TEST(LifecycleReplyTest, ReplyNeedsAResponseDeadline) {
  Case c = BuildCase(status::kProcessing);
  v1::Event e = NextEvent(c, v1::EVENT_REPLIED, Citizen());
  e.mutable_action()->clear_response_due_ms();
  EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "response_due_ms");
}

TEST(LifecycleAutoCompleteTest, OnlyFromTheAutoCompleteTime) {
  Case c = BuildCase(status::kProcessing);
  const int64_t at = c.state.auto_complete_at_ms();
  ASSERT_GT(at, 0);
  for (int64_t t : {c.now_ms, at - kDayMs, at - 1}) {
    SCOPED_TRACE(t);
    v1::Event early = NextEvent(c, v1::EVENT_AUTO_COMPLETED, System());
    early.set_time_ms(t);
    EXPECT_EQ(ExpectRefused(&c, early, Code::kConflict).field(), "time_ms");
  }
  v1::Event e = NextEvent(c, v1::EVENT_AUTO_COMPLETED, System());
  e.set_time_ms(at + 1);
  e.mutable_action()->set_reopen_until_ms(at + 1 + 10 * kDayMs);
  ExpectApplied(&c, e);
  EXPECT_EQ(c.state.status(), status::kDone);
  EXPECT_EQ(c.state.completed_ms(), at + 1);
  EXPECT_EQ(c.state.auto_complete_at_ms(), 0);
  EXPECT_EQ(c.state.reopen_until_ms(), at + 1 + 10 * kDayMs);

  // Not twice.
  v1::Event again = NextEvent(c, v1::EVENT_AUTO_COMPLETED, System());
  again.set_time_ms(at + 2);
  Status st = ExpectRefused(&c, again, Code::kConflict);
  EXPECT_NE(st.message().find("'selesai'"), std::string::npos) << st.message();
}

TEST(LifecycleAutoCompleteTest, AtExactlyTheAutoCompleteTime) {
  Case c = BuildCase(status::kProcessing);
  v1::Event e = NextEvent(c, v1::EVENT_AUTO_COMPLETED, System());
  e.set_time_ms(c.state.auto_complete_at_ms());
  ExpectApplied(&c, e);
  EXPECT_EQ(c.state.status(), status::kDone);
}

TEST(LifecycleAutoCompleteTest, NeverWithoutAResponse) {
  // Processing but not responded: no auto-complete time is set.
  Case c = BuildCase(status::kDispositioned);
  Step(&c, v1::EVENT_PROCESSING);
  v1::Event e = NextEvent(c, v1::EVENT_AUTO_COMPLETED, System());
  e.set_time_ms(c.now_ms + 60 * kDayMs);
  CheckRefused(&c, e, Code::kConflict);

  // Other statuses: refused naming the status.
  for (const auto& s : kAllStatuses) {
    if (s == status::kProcessing) continue;
    SCOPED_TRACE(s);
    Case o = BuildCase(s);
    v1::Event ac = NextEvent(o, v1::EVENT_AUTO_COMPLETED, System());
    ac.set_time_ms(o.now_ms + 60 * kDayMs);
    Status st = ExpectRefused(&o, ac, Code::kConflict);
    EXPECT_NE(st.message().find("'" + s + "'"), std::string::npos) << st.message();
  }
}

TEST(LifecycleEscalationTest, OnlyAfterTheDeadlineAndOnlyOnce) {
  Case c = BuildCase(status::kSubmitted);
  const int64_t due = c.state.due_ms();
  ASSERT_GT(due, 0);
  ASSERT_EQ(c.state.due_kind(), "verification");
  for (int64_t t : {c.now_ms + kHourMs, due - 1, due}) {
    SCOPED_TRACE(t);
    v1::Event early = NextEvent(c, v1::EVENT_ESCALATED, System());
    early.set_time_ms(t);
    EXPECT_EQ(ExpectRefused(&c, early, Code::kConflict).field(), "due_ms");
  }
  v1::Event e = NextEvent(c, v1::EVENT_ESCALATED, System());
  e.set_time_ms(due + 1);
  ExpectApplied(&c, e);
  EXPECT_TRUE(c.state.escalated());
  EXPECT_EQ(c.state.status(), status::kSubmitted);  // escalation does not move the case
  EXPECT_EQ(c.state.due_ms(), due);

  v1::Event again = NextEvent(c, v1::EVENT_ESCALATED, System());
  again.set_time_ms(due + kDayMs);
  EXPECT_EQ(ExpectRefused(&c, again, Code::kConflict).field(), "due_ms");
}

TEST(LifecycleEscalationTest, MustNameTheMissedDeadline) {
  Case c = BuildCase(status::kSubmitted);
  for (const char* wrong : {"response", "", "verifikasi"}) {
    SCOPED_TRACE(wrong);
    v1::Event e = NextEvent(c, v1::EVENT_ESCALATED, System());
    e.set_time_ms(c.state.due_ms() + 1);
    e.mutable_action()->set_missed_deadline(wrong);
    EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "missed_deadline");
  }
}

TEST(LifecycleEscalationTest, ANewDeadlineMayBeEscalatedAgain) {
  Case c = BuildCase(status::kSubmitted);
  v1::Event e = NextEvent(c, v1::EVENT_ESCALATED, System());
  e.set_time_ms(c.state.due_ms() + 1);
  ExpectApplied(&c, e);
  ASSERT_TRUE(c.state.escalated());

  Step(&c, v1::EVENT_VERIFIED);  // starts the response clock and clears the flag
  EXPECT_FALSE(c.state.escalated());
  EXPECT_EQ(c.state.due_kind(), "response");
  const int64_t due = c.state.due_ms();

  v1::Event wrong_kind = NextEvent(c, v1::EVENT_ESCALATED, System());
  wrong_kind.set_time_ms(due + 1);
  wrong_kind.mutable_action()->set_missed_deadline("verification");
  CheckRefused(&c, wrong_kind, Code::kInvalidArgument);

  v1::Event esc = NextEvent(c, v1::EVENT_ESCALATED, System());
  esc.set_time_ms(due + 1);
  ASSERT_EQ(esc.action().missed_deadline(), "response");
  ExpectApplied(&c, esc);
  EXPECT_TRUE(c.state.escalated());
  EXPECT_EQ(c.state.status(), status::kDispositioned);
}

TEST(LifecycleEscalationTest, NothingToEscalateWhenNoClockRuns) {
  // On hold, archived, responded (waiting for auto-completion) and done: no deadline runs.
  for (const auto& s : {status::kOnHold, status::kArchived, status::kProcessing, status::kDone}) {
    SCOPED_TRACE(s);
    Case c = BuildCase(s);
    ASSERT_EQ(c.state.due_ms(), 0);
    v1::Event e = NextEvent(c, v1::EVENT_ESCALATED, System());
    e.set_time_ms(c.now_ms + 365 * kDayMs);
    e.mutable_action()->set_missed_deadline("response");
    CheckRefused(&c, e, Code::kConflict);
  }
}

TEST(LifecycleReopenTest, ReporterWithinTheWindow) {
  Case c = BuildCase(status::kDone);
  const int64_t until = c.state.reopen_until_ms();
  ASSERT_GT(until, 0);
  v1::Event e = NextEvent(c, v1::EVENT_REOPENED, Citizen());
  e.set_time_ms(until);  // the last moment of the window
  e.mutable_action()->set_response_due_ms(until + 5 * kDayMs);
  ExpectApplied(&c, e);
  EXPECT_EQ(c.state.status(), status::kProcessing);
  EXPECT_FALSE(c.state.responded());
  EXPECT_EQ(c.state.completed_ms(), 0);
  EXPECT_EQ(c.state.reopen_until_ms(), 0);
  EXPECT_EQ(c.state.due_ms(), until + 5 * kDayMs);
  EXPECT_EQ(c.state.due_kind(), "response");

  // Reopened: the liaison must respond again before completing.
  CheckRefused(&c, NextEvent(c, v1::EVENT_COMPLETED, Liaison()), Code::kConflict);
  Step(&c, v1::EVENT_RESPONDED);
  Step(&c, v1::EVENT_COMPLETED);
  EXPECT_EQ(c.state.status(), status::kDone);
}

TEST(LifecycleReopenTest, ReporterAfterTheWindowIsRefusedButAdminMayReopen) {
  Case c = BuildCase(status::kDone);
  const int64_t late = c.state.reopen_until_ms() + 1;
  v1::Event by_citizen = NextEvent(c, v1::EVENT_REOPENED, Citizen());
  by_citizen.set_time_ms(late);
  CheckRefused(&c, by_citizen, Code::kConflict);

  v1::Event much_later = NextEvent(c, v1::EVENT_REOPENED, Citizen());
  much_later.set_time_ms(late + 100 * kDayMs);
  CheckRefused(&c, much_later, Code::kConflict);

  v1::Event by_admin = NextEvent(c, v1::EVENT_REOPENED, Admin());
  by_admin.set_time_ms(late + 100 * kDayMs);
  ExpectApplied(&c, by_admin);
  EXPECT_EQ(c.state.status(), status::kProcessing);
}

// The reporter rates the handling of a done case once, 1 to 5; a reopened case keeps its rating.
TEST(LifecycleRateTest, OnceFromOneToFiveAndKeptThroughAReopen) {
  Case c = BuildCase(status::kDone);
  for (int bad : {0, 6, -1}) {
    SCOPED_TRACE(bad);
    v1::Event e = NextEvent(c, v1::EVENT_RATED, Citizen());
    e.mutable_action()->set_rating(bad);
    Status st = ExpectRefused(&c, e, Code::kInvalidArgument);
    EXPECT_EQ(st.field(), "rating");
  }
  v1::Event rated = NextEvent(c, v1::EVENT_RATED, Citizen());
  ExpectApplied(&c, rated);
  EXPECT_EQ(c.state.rating(), 4);
  EXPECT_EQ(c.state.rated_ms(), rated.time_ms());
  EXPECT_EQ(c.state.status(), status::kDone);
  Status twice = ExpectRefused(&c, NextEvent(c, v1::EVENT_RATED, Citizen()), Code::kConflict);
  EXPECT_NE(twice.message().find("already rated"), std::string::npos) << twice.message();

  Step(&c, v1::EVENT_REOPENED);
  Step(&c, v1::EVENT_RESPONDED);
  Step(&c, v1::EVENT_COMPLETED);
  EXPECT_EQ(c.state.rating(), 4);
  CheckRefused(&c, NextEvent(c, v1::EVENT_RATED, Citizen()), Code::kConflict);
}

// A rating comes within the reopen window, before any erasure, and only on a rating event.
TEST(LifecycleRateTest, WithinTheWindowBeforeErasureAndOnlyOnARatingEvent) {
  Case late = BuildCase(status::kDone);
  v1::Event after = NextEvent(late, v1::EVENT_RATED, Citizen());
  after.set_time_ms(late.state.reopen_until_ms() + 1);
  Status st = ExpectRefused(&late, after, Code::kConflict);
  EXPECT_NE(st.message().find("within 10 working days"), std::string::npos) << st.message();

  Case erased = BuildCase(status::kDone);
  erased.state.set_reporter_erased(true);
  CheckRefused(&erased, NextEvent(erased, v1::EVENT_RATED, Citizen()), Code::kConflict);

  Case p = BuildCase(status::kProcessing);
  v1::Event reply = NextEvent(p, v1::EVENT_REPLIED, Citizen());
  reply.mutable_action()->set_rating(5);
  Status carried = ExpectRefused(&p, reply, Code::kInvalidArgument);
  EXPECT_EQ(carried.field(), "rating");
}

// A confidential case's rating travels sealed: the event carries none in plain and commits to it.
TEST(LifecycleRateTest, ASealedRatingIsCommittedNotShown) {
  Case c = BuildCase(status::kDone);
  c.state.set_confidential(true);
  v1::Event e = NextEvent(c, v1::EVENT_RATED, Citizen());
  auto text = TakeContent(&e);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->rating(), 4);
  EXPECT_EQ(e.action().rating(), 0);
  EXPECT_TRUE(e.action().note().empty());
  e.mutable_action()->set_note_commitment(std::string(32, 'c'));
  ExpectApplied(&c, e);
  EXPECT_EQ(c.state.rating(), 0);  // sealed from whoever folds it without the content
  EXPECT_GT(c.state.rated_ms(), 0);
  RestoreContent(*text, &e);
  ApplyContent(e, &c.state);
  EXPECT_EQ(c.state.rating(), 4);
  ClearContent(&c.state);
  EXPECT_EQ(c.state.rating(), 0);

  // Without a commitment, a confidential case's rating must still be 1 to 5.
  Case d = BuildCase(status::kDone);
  d.state.set_confidential(true);
  v1::Event plain = NextEvent(d, v1::EVENT_RATED, Citizen());
  plain.mutable_action()->set_rating(0);
  CheckRefused(&d, plain, Code::kInvalidArgument);
}

TEST(LifecycleReopenTest, ReopenNeedsAResponseDeadline) {
  Case c = BuildCase(status::kDone);
  v1::Event e = NextEvent(c, v1::EVENT_REOPENED, Admin());
  e.mutable_action()->clear_response_due_ms();
  EXPECT_EQ(ExpectRefused(&c, e, Code::kInvalidArgument).field(), "response_due_ms");
}

TEST(LifecycleReopenTest, AdminReopenFollowsTheSameStatusRule) {
  for (const auto& s : kAllStatuses) {
    SCOPED_TRACE(s);
    Case c = BuildCase(s);
    const v1::Event e = NextEvent(c, v1::EVENT_REOPENED, Admin());
    if (s == status::kDone) {
      ExpectApplied(&c, e);
      EXPECT_EQ(c.state.status(), status::kProcessing);
    } else {
      Status st = ExpectRefused(&c, e, Code::kConflict);
      EXPECT_NE(st.message().find("'" + s + "'"), std::string::npos) << st.message();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Names and validators.

TEST(LifecycleNamesTest, EventTypeForAction) {
  const std::vector<std::pair<const char*, v1::EventType>> kActions = {
      {"verify", v1::EVENT_VERIFIED},    {"hold", v1::EVENT_HELD},
      {"archive", v1::EVENT_ARCHIVED},   {"dispose", v1::EVENT_DISPOSED},
      {"process", v1::EVENT_PROCESSING}, {"respond", v1::EVENT_RESPONDED},
      {"complete", v1::EVENT_COMPLETED}, {"reply", v1::EVENT_REPLIED},
      {"reopen", v1::EVENT_REOPENED}};
  for (const auto& [name, type] : kActions) {
    auto got = EventTypeForAction(name);
    ASSERT_TRUE(got.has_value()) << name;
    EXPECT_EQ(*got, type) << name;
  }
  for (const char* not_requestable :
       {"submit", "escalate", "auto_complete", "auto-complete", "Verify", "", "verified"}) {
    EXPECT_FALSE(EventTypeForAction(not_requestable).has_value()) << not_requestable;
  }
}

TEST(LifecycleNamesTest, EventTypeNames) {
  EXPECT_EQ(EventTypeName(v1::EVENT_SUBMITTED), "submitted");
  EXPECT_EQ(EventTypeName(v1::EVENT_VERIFIED), "verified");
  EXPECT_EQ(EventTypeName(v1::EVENT_HELD), "held");
  EXPECT_EQ(EventTypeName(v1::EVENT_ARCHIVED), "archived");
  EXPECT_EQ(EventTypeName(v1::EVENT_DISPOSED), "disposed");
  EXPECT_EQ(EventTypeName(v1::EVENT_PROCESSING), "processing");
  EXPECT_EQ(EventTypeName(v1::EVENT_RESPONDED), "responded");
  EXPECT_EQ(EventTypeName(v1::EVENT_COMPLETED), "completed");
  EXPECT_EQ(EventTypeName(v1::EVENT_REPLIED), "replied");
  EXPECT_EQ(EventTypeName(v1::EVENT_REOPENED), "reopened");
  EXPECT_EQ(EventTypeName(v1::EVENT_ESCALATED), "escalated");
  EXPECT_EQ(EventTypeName(v1::EVENT_AUTO_COMPLETED), "auto_completed");
  EXPECT_EQ(EventTypeName(v1::EVENT_UNSPECIFIED), "unknown");
}

TEST(LifecycleNamesTest, Validators) {
  for (const auto& s : kAllStatuses) EXPECT_TRUE(IsValidStatus(s)) << s;
  for (const char* s : {"", "submitted", "Selesai", "dibatalkan"}) EXPECT_FALSE(IsValidStatus(s));
  for (const char* t : {"aspirasi", "pengaduan", "permintaan_informasi", "whistleblowing"}) {
    EXPECT_TRUE(IsValidReportType(t)) << t;
  }
  EXPECT_FALSE(IsValidReportType("keluhan"));
  EXPECT_FALSE(IsValidReportType(""));
  for (const char* ch : {"web", "sms", "app", "social"}) EXPECT_TRUE(IsValidChannel(ch)) << ch;
  EXPECT_FALSE(IsValidChannel("email"));
  for (const char* r : {"not_actionable", "duplicate", "not_our_authority"}) {
    EXPECT_TRUE(IsValidArchiveReason(r)) << r;
  }
  EXPECT_FALSE(IsValidArchiveReason("spam"));
  EXPECT_FALSE(IsValidArchiveReason(""));
}

// ---------------------------------------------------------------------------------------------
// Confidential cases (protocol/confidential.h): events signed with their content sealed.

// Folds the sealed form of each event into `sealed` and the event as made into `full`.
struct TwoFolds {
  Case full, sealed;
  void Apply(v1::EventType type, const v1::Actor& actor) {
    v1::Event e = NextEvent(full, type, actor);
    if (type == v1::EVENT_SUBMITTED) e.mutable_submission()->set_confidential(true);
    v1::Event s = e;
    auto text = TakeContent(&s);
    if (text) {
      (type == v1::EVENT_SUBMITTED ? *s.mutable_submission()->mutable_content_commitment()
                                   : *s.mutable_action()->mutable_note_commitment()) =
          std::string(32, '\x5c');
    }
    ExpectApplied(&full, e);
    ExpectApplied(&sealed, s);
    // Restored, the sealed event is the event as made (but for the commitment).
    if (text) {
      RestoreContent(*text, &s);
      if (type == v1::EVENT_SUBMITTED) {
        s.mutable_submission()->clear_content_commitment();
      } else {
        s.mutable_action()->clear_note_commitment();
      }
    }
    EXPECT_TRUE(MessageDifferencer::Equals(e, s)) << EventTypeName(type);
  }
};

TEST(LifecycleConfidentialTest, SealedEventsCarryNoContentAndFoldToTheSameStatus) {
  TwoFolds f;
  f.Apply(v1::EVENT_SUBMITTED, Citizen());
  f.Apply(v1::EVENT_VERIFIED, Admin());
  f.Apply(v1::EVENT_DISPOSED, Admin());
  f.Apply(v1::EVENT_RESPONDED, Liaison());
  f.Apply(v1::EVENT_REPLIED, Citizen());
  // Everything but the content agrees; the content is what ApplyContent puts back.
  v1::CaseState full = f.full.state, sealed = f.sealed.state;
  EXPECT_EQ(sealed.agency(), "");
  EXPECT_EQ(sealed.category(), "");
  EXPECT_EQ(sealed.title(), "");
  EXPECT_EQ(full.title(), "");  // a confidential title is never kept in plain in the state
  ClearContent(&full);
  EXPECT_TRUE(MessageDifferencer::Equals(full, sealed)) << full.ShortDebugString() << "\n"
                                                        << sealed.ShortDebugString();
  EXPECT_EQ(f.full.state.agency(), kOtherAgency);
  EXPECT_EQ(f.full.state.region_code(), "31.71");
}

TEST(LifecycleConfidentialTest, TakeContentLeavesOnlyWhatAnyoneMayKnow) {
  Case c;
  v1::Event e = NextEvent(c, v1::EVENT_SUBMITTED, Citizen());
  e.mutable_submission()->set_confidential(true);
  e.mutable_submission()->set_has_location(true);
  e.mutable_submission()->set_lat(-6.2);
  e.mutable_submission()->set_lon(106.8);
  auto* att = e.mutable_submission()->add_attachments();
  att->set_sha256(std::string(32, '\x01'));
  att->set_media_type("image/jpeg");
  att->set_size(10);
  v1::Event s = e;
  auto text = TakeContent(&s);
  ASSERT_TRUE(text.has_value());
  const v1::Submission& sub = s.submission();
  EXPECT_TRUE(sub.title().empty() && sub.description().empty() && sub.category().empty() &&
              sub.report_type().empty() && sub.region_code().empty() &&
              sub.target_agency().empty() && sub.channel().empty() && !sub.has_location() &&
              sub.lat() == 0 && sub.lon() == 0 && sub.attachments_size() == 0)
      << sub.ShortDebugString();
  EXPECT_TRUE(sub.confidential());
  EXPECT_EQ(sub.verify_due_ms(), e.submission().verify_due_ms());
  EXPECT_EQ(text->attachments_size(), 1);
  EXPECT_EQ(text->lat(), -6.2);
  // An action without content has nothing to seal.
  v1::Event processing;
  processing.set_type(v1::EVENT_PROCESSING);
  processing.mutable_action();
  EXPECT_FALSE(TakeContent(&processing).has_value());
}

TEST(LifecycleConfidentialTest, OnlyAConfidentialCaseMayLeaveItsAgencyAndReasonSealed) {
  for (bool confidential : {false, true}) {
    Case c;
    v1::Event sub = NextEvent(c, v1::EVENT_SUBMITTED, Citizen());
    sub.mutable_submission()->set_confidential(confidential);
    ExpectApplied(&c, sub);
    for (v1::EventType type : {v1::EVENT_VERIFIED, v1::EVENT_ARCHIVED}) {
      v1::Event e = NextEvent(c, type, Admin());
      e.mutable_action()->clear_agency();
      e.mutable_action()->clear_reason();
      e.mutable_action()->set_note_commitment(std::string(32, '\x5c'));
      v1::CaseState scratch = c.state;
      Status st = ApplyEvent(e, HashFor(e.seq()), &scratch);
      EXPECT_EQ(st.ok(), confidential) << EventTypeName(type) << ": " << st.ToString();
      // Without a commitment nothing is sealed: the agency or reason is missing.
      e.mutable_action()->clear_note_commitment();
      CheckRefused(&c, e, Code::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace lapor::protocol
