#include "node/case_figures.h"

#include <future>
#include <map>
#include <vector>

#include "node/case_service.h"
#include "protocol/lifecycle.h"

namespace lapor::node {
namespace {

// The case's chain replayed from its stored events (own and foreign), or nullopt if it does not
// replay to its end.
std::optional<v1::CaseState> Replay(storage::Store* store, uint64_t ref) {
  std::multimap<std::string, std::pair<std::string, v1::Event>> by_prev;
  auto add = [&](const std::string& hash, const std::string& envelope) {
    v1::Envelope env;
    v1::Event ev;
    if (!env.ParseFromString(envelope) || !ev.ParseFromString(env.payload())) return false;
    if (protocol::IsChainEvent(ev.type()))
      by_prev.emplace(ev.prev_hash(), std::make_pair(hash, ev));
    return true;
  };
  auto own = store->CaseEvents(ref);
  if (!own.ok()) return std::nullopt;
  for (const auto& e : *own) {
    if (!add(e.hash, e.envelope)) return std::nullopt;
  }
  auto foreign = store->ForeignCaseEvents(ref);
  if (!foreign.ok()) return std::nullopt;
  for (const auto& f : *foreign) {
    if (!add(f.hash, f.envelope)) return std::nullopt;
  }
  v1::CaseState replay;
  std::string at;
  size_t applied = 0;
  for (auto it = by_prev.find(at); it != by_prev.end(); it = by_prev.find(at)) {
    if (by_prev.count(at) > 1) return std::nullopt;
    if (!protocol::ApplyEvent(it->second.second, it->second.first, &replay).ok()) {
      return std::nullopt;
    }
    at = it->second.first;
    if (++applied > by_prev.size()) return std::nullopt;
  }
  if (applied != by_prev.size()) return std::nullopt;
  return replay;
}

}  // namespace

Result<uint64_t> BackfillCaseFigures(storage::Store* store, const std::string& node_id) {
  auto done = store->GetMeta(kCaseFiguresMetaKey);
  if (!done.ok()) return done.status();
  if (done->has_value() && **done == "1") return uint64_t{0};
  // Only a case that has moved past its submission has figures to fill in.
  std::vector<std::pair<uint64_t, v1::CaseState>> todo;
  LAPOR_RETURN_IF_ERROR(store->ScanCases([&](const v1::CaseState& s) {
    if (s.event_count() > 1) todo.emplace_back(CaseRef(s), s);
    return true;
  }));
  auto next_seq = store->NextSeq();
  if (!next_seq.ok()) return next_seq.status();
  uint64_t updated = 0;
  std::vector<std::future<Status>> written;
  for (auto& [ref, state] : todo) {
    auto replay = Replay(store, ref);
    // Only a whole chain: one this node holds in part would give the figures of a part.
    if (!replay || replay->last_hash() != state.last_hash() ||
        replay->event_count() != state.event_count()) {
      continue;
    }
    if (replay->verified_ms() == state.verified_ms() &&
        replay->responded_ms() == state.responded_ms() &&
        replay->verified_on_time() == state.verified_on_time() &&
        replay->responded_on_time() == state.responded_on_time() &&
        replay->reopen_count() == state.reopen_count() &&
        replay->auto_completed() == state.auto_completed() &&
        replay->missed_before_hold() == state.missed_before_hold()) {
      continue;
    }
    state.set_verified_ms(replay->verified_ms());
    state.set_verified_on_time(replay->verified_on_time());
    state.set_responded_ms(replay->responded_ms());
    state.set_responded_on_time(replay->responded_on_time());
    state.set_reopen_count(replay->reopen_count());
    state.set_auto_completed(replay->auto_completed());
    state.set_missed_before_hold(replay->missed_before_hold());
    storage::Write w;
    w.kind = storage::Write::Kind::kBookkeeping;
    w.after_seq = *next_seq;
    w.case_ref = ref;
    w.track_deadlines = state.owner_node() == node_id;
    w.state = state;
    written.push_back(store->Enqueue(std::move(w)));
    ++updated;
  }
  for (auto& f : written) LAPOR_RETURN_IF_ERROR(f.get());
  LAPOR_RETURN_IF_ERROR(store->SetMeta(kCaseFiguresMetaKey, "1"));
  return updated;
}

}  // namespace lapor::node
