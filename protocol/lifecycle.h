// The LAPOR! case lifecycle as pure functions over events: the live path and every replay (fsck,
// audit) apply the same code, so a case's state is by construction a function of its events.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "lapor/v1/event.pb.h"

namespace lapor::protocol {

namespace status {
inline constexpr std::string_view kSubmitted = "belum_terverifikasi";
inline constexpr std::string_view kDispositioned = "terdisposisi";
inline constexpr std::string_view kProcessing = "diproses";
inline constexpr std::string_view kDone = "selesai";
inline constexpr std::string_view kOnHold = "tertunda";
inline constexpr std::string_view kArchived = "arsip";
}  // namespace status

// The national hub's node id (its jurisdiction code).
inline constexpr std::string_view kHubNode = "00";

inline constexpr int kVerifyWorkingDays = 3;
inline constexpr int kResponseWorkingDays = 5;
inline constexpr int kAutoCompleteWorkingDays = 10;
inline constexpr int kReopenWorkingDays = 10;

bool IsValidStatus(std::string_view s);
bool IsValidReportType(std::string_view s);
bool IsValidChannel(std::string_view s);
bool IsValidArchiveReason(std::string_view s);

// The event type an API action name produces ("verify" -> EVENT_VERIFIED), if it is one that
// operators or reporters may request (escalation and auto-completion are the node's own).
std::optional<v1::EventType> EventTypeForAction(std::string_view action);
// Lower-case name used in JSON views ("submitted", "verified", ...).
std::string_view EventTypeName(v1::EventType type);

// Whether this kind of actor may cause this event: PermissionDenied otherwise.
Status CheckActor(v1::EventType type, const v1::Actor& actor);

// Whether events of this type are links of a case's hash chain (all but the citizen message an
// origin relays to the owner, which the owner adopts with an event of its own).
inline bool IsChainEvent(v1::EventType t) { return t != v1::EVENT_CITIZEN_MESSAGE; }

// Applies `event` (whose envelope hashes to `hash`) to `state`: checks the actor, that the event
// follows the state (Conflict naming the current status otherwise), that its author (event
// node_id) may change the case now (the one-owner rule: the owner, or during a handoff only the
// node it is forwarded to; PermissionDenied or Conflict otherwise), and that its body is complete
// (InvalidArgument naming the field). On error `state` is unchanged.
Status ApplyEvent(const v1::Event& event, const std::string& hash, v1::CaseState* state);

}  // namespace lapor::protocol
