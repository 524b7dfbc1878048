#include "federation/replicator.h"

#include <spdlog/spdlog.h>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "base/mutex.h"
#include "base/thread_name.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "federation/peer_client.h"
#include "federation/request_auth.h"
#include "lapor/v1/event.pb.h"
#include "protocol/envelope.h"
#include "protocol/lifecycle.h"

namespace lapor::federation {

namespace {

// How long a sender that found nothing to send waits before it looks again, unless new rows for
// its destination wake it (or discovery finds it has backlog).
constexpr int64_t kSenderIdleMs = 60000;

// Reads at most `cap` bytes of `resp`'s body: Unavailable if there is more.
Result<std::string> ReadCapped(web::http::http_response& resp, size_t cap) {
  const auto declared = resp.headers().content_length();
  if (declared > cap) {
    return Status::Unavailable("reply of " + std::to_string(declared) + " bytes exceeds " +
                               std::to_string(cap));
  }
  auto in = resp.body().streambuf();
  std::string out;
  std::vector<uint8_t> chunk(64 * 1024);
  for (;;) {
    const size_t n = in.getn(chunk.data(), chunk.size()).get();
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(chunk.data()), n);
    if (out.size() > cap) {
      return Status::Unavailable("reply exceeds " + std::to_string(cap) + " bytes");
    }
  }
  return out;
}

}  // namespace

Result<std::string> PostSigned(const ReplicatorOptions& opt, const std::string& to,
                               const std::string& path, const std::string& body, int timeout_ms) {
  auto manifest = opt.directory != nullptr ? opt.directory->Get() : nullptr;
  const v1::Member* member = manifest ? protocol::FindNode(*manifest, to) : nullptr;
  if (member == nullptr) return Status::Unavailable("node " + to + " is not in the manifest");
  const std::string base_url = PeerUrl(opt, to);
  if (base_url.empty()) return Status::Unavailable("no URL for node " + to);
  auto auth = SignRequest(*opt.key, opt.node_id, to, "POST", path, body, opt.clock->NowMs());
  try {
    web::http::client::http_client client(base_url,
                                          PeerClientConfig(std::chrono::milliseconds(timeout_ms)));
    web::http::http_request req(web::http::methods::POST);
    req.set_request_uri(path);
    req.set_body(std::vector<unsigned char>(body.begin(), body.end()));
    req.headers().set_content_type("application/x-protobuf");
    for (const auto& [name, value] : AuthHeaders(auth)) req.headers().add(name, value);
    auto resp = client.request(req).get();
    auto out = ReadCapped(resp, resp.status_code() == 200 ? kMaxReplyBytes : 4096);
    if (resp.status_code() != 200) {
      return Status::Unavailable("HTTP " + std::to_string(resp.status_code()) + ": " +
                                 (out.ok() ? out->substr(0, 300) : out.status().message()));
    }
    if (!out.ok()) return out.status();
    const auto& h = resp.headers();
    auto responder = h.find(std::string(kHeaderNode));
    auto signature = h.find(std::string(kHeaderSignature));
    std::optional<std::string> sig;
    if (signature != h.end()) sig = crypto::Base64Decode(signature->second);
    if (responder == h.end() || responder->second != to || !sig) {
      return Status::PermissionDenied("the reply of node " + to + " is not signed by it");
    }
    LAPOR_RETURN_IF_ERROR(
        VerifyResponse(*member, opt.node_id, auth.nonce, *out, *sig, opt.clock->NowMs()));
    return out;
  } catch (const std::exception& e) {
    std::string why = e.what();
    // cpprestsdk does not say why a handshake failed; most often the peer's certificate is not
    // one this node trusts.
    if (why.find("SSL handshake") != std::string::npos) {
      why += " (is the peer's certificate trusted? node.json tls_ca_file names the CA)";
    }
    return Status::Unavailable("unreachable: " + why);
  }
}

struct Replicator::Impl {
  using SteadyClock = std::chrono::steady_clock;

  ReplicatorOptions opt;

  // One destination's delivery. A pool of opt.sender_threads workers runs the senders that are
  // due, one turn at a time, so a node with hundreds of destinations (the hub) runs a few threads,
  // not one per destination.
  struct Sender {
    std::string destination;
    // Owned by the worker running the sender (one at a time):
    bool loaded = false;  // cursor and row read from the store
    int64_t cursor = 0;
    int64_t relayed = 0;  // rows after the cursor already handed to the hub
    // Rows after the cursor the destination settled while an earlier one waits (kept in memory:
    // after a restart they are sent again and answered as held).
    std::set<int64_t> settled_ahead;
    storage::DeliveryRow row;
    int attempt = 0;  // failed turns in a row
    // Scheduling, guarded by Impl::mu:
    bool running = false;      // a worker runs its turn
    bool backing_off = false;  // waiting out `due` after a failure: wakes do not cut it short
    bool woken = false;        // woken while running: due again at once unless backing off
    bool failing = false;      // its last turn failed (it backs off)
    // Its rows wait for a checkpoint to cover them: CheckpointAdvanced makes it due.
    bool awaiting_checkpoint = false;
    SteadyClock::time_point due{};
    int64_t rewind_to = -1;  // set by Rewind, applied by its next turn
  };

  // What a sender's turn asks for next.
  struct Next {
    enum Kind { kNow, kIdle, kSoon, kBackoff } kind = kIdle;
    int64_t ms = 0;        // kSoon, kBackoff: how long from now
    uint64_t covered = 0;  // kSoon: the checkpoint size the turn saw
  };
  // A sender whose rows wait for a checkpoint is woken by the next one (CheckpointAdvanced); this
  // is the longest it waits if that wake-up never comes.
  static constexpr int64_t kAwaitCheckpointMs = 1000;

  Mutex mu;
  CondVar cv;           // the workers
  CondVar discover_cv;  // the discoverer
  bool stopping LAPOR_GUARDED_BY(mu) = false;
  // Senders of failing destinations running now: at most half the pool, so destinations that
  // hang until the request times out cannot hold every thread.
  int failing_running LAPOR_GUARDED_BY(mu) = 0;
  uint64_t schedule_changes LAPOR_GUARDED_BY(mu) = 0;  // the workers look again when it moves
  uint64_t checkpoint_size LAPOR_GUARDED_BY(mu) = 0;   // the latest CheckpointAdvanced
  std::map<std::string, std::unique_ptr<Sender>> senders LAPOR_GUARDED_BY(mu);
  std::thread discoverer;
  std::vector<std::thread> workers;

  // Tree nodes of this node's log already computed for inclusion proofs. A node of a complete
  // subtree never changes, so entries stay valid across checkpoints; consecutive events (and
  // every destination) share most of their proofs' nodes.
  Mutex cache_mu;
  std::unordered_map<uint64_t, std::string> node_cache;  // (level << 56 | index) -> hash

  crypto::NodeReader CachedReader() {
    crypto::NodeReader inner = opt.log->Reader();
    return [this, inner](uint32_t level, uint64_t index) -> Result<std::string> {
      const uint64_t key = (static_cast<uint64_t>(level) << 56) | index;
      {
        MutexLock lock(cache_mu);
        auto it = node_cache.find(key);
        if (it != node_cache.end()) return it->second;
      }
      auto hash = inner(level, index);
      if (!hash.ok()) return hash;
      MutexLock lock(cache_mu);
      if (node_cache.size() > (1u << 18)) node_cache.clear();  // bounded: ~16 MiB
      node_cache.emplace(key, *hash);
      return hash;
    };
  }

  // Whether `envelope` is an event this node authored; its seq in `seq`.
  bool OwnSeq(const std::string& envelope, uint64_t* seq) const {
    v1::Envelope env;
    v1::Event ev;
    if (!env.ParseFromString(envelope) || !ev.ParseFromString(env.payload())) return false;
    *seq = ev.seq();
    return ev.node_id() == opt.node_id;
  }

  // The leading rows that may go now: this node's own events only once a checkpoint covers them
  // (`covered`: the checkpoint's size).
  size_t Deliverable(const std::vector<storage::OutboxRow>& rows,
                     uint64_t* covered_out = nullptr) const {
    if (opt.log == nullptr) return rows.size();
    const uint64_t covered = opt.log->checkpoint().size;
    if (covered_out != nullptr) *covered_out = covered;
    for (size_t i = 0; i < rows.size(); ++i) {
      uint64_t seq = 0;
      if (rows[i].kind == storage::OutboxKind::kEnvelope && OwnSeq(rows[i].payload, &seq) &&
          seq >= covered) {
        return i;
      }
    }
    return rows.size();
  }

  // Waits up to `ms` or until stopping; returns false when stopping.
  bool Sleep(int64_t ms) {
    MutexLock lock(mu);
    discover_cv.WaitFor(lock, std::chrono::milliseconds(ms),
                        [&]() LAPOR_REQUIRES(mu) { return stopping; });
    return !stopping;
  }

  void SaveRow(Sender* s) {
    storage::Write w;
    w.kind = storage::Write::Kind::kBookkeeping;
    s->row.destination = s->destination;
    s->row.cursor = s->cursor;
    w.deliveries.push_back(s->row);
    opt.store->Enqueue(std::move(w), [](const Status&) {});
  }

  // What the destination answered for the rows of one batch.
  struct Outcome {
    std::vector<bool> settled;                // by row: applied, held, refused or relayed
    std::map<int64_t, std::string> deferred;  // outbox id -> the destination's reason
    size_t Leading() const {
      size_t n = 0;
      while (n < settled.size() && settled[n]) ++n;
      return n;
    }
  };

  // Sends `rows` (to `to`, or through the hub when relay_to is set). Returns what the
  // destination settled and deferred, or an error (nothing settled).
  Result<Outcome> Send(const std::string& to, const std::vector<storage::OutboxRow>& rows,
                       const std::string& relay_to) {
    const std::string url = PeerUrl(opt, to);
    if (url.empty()) return Status::Unavailable("node " + to + " has no URL in the manifest");
    v1::EventBatch batch;
    batch.set_sender(opt.node_id);
    batch.set_relay_to(relay_to);
    if (auto m = opt.directory != nullptr ? opt.directory->Get() : nullptr) {
      batch.set_manifest_version(m->version());
    }
    storage::CheckpointRow cp;
    crypto::NodeReader reader;
    if (opt.log != nullptr) {
      cp = opt.log->checkpoint();
      batch.set_checkpoint(cp.note);
      reader = CachedReader();
    }
    std::map<int64_t, size_t> index;  // outbox id -> position in rows
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      index[r.id] = i;
      auto* item = batch.add_items();
      item->set_outbox_id(static_cast<uint64_t>(r.id));
      if (r.kind == storage::OutboxKind::kSealed) {
        item->mutable_sealed()->ParseFromString(r.payload);
        continue;
      }
      item->set_envelope(r.payload);
      uint64_t seq = 0;
      if (OwnSeq(r.payload, &seq)) {
        if (opt.log != nullptr && seq < cp.size) {
          auto proof = crypto::InclusionProof(reader, seq, cp.size);
          if (!proof.ok()) return proof.status();
          auto* p = batch.add_proofs();
          p->set_leaf_index(seq);
          for (auto& h : *proof) p->add_hashes(std::move(h));
        }
        continue;
      }
      // Another node's event (history of a case, or relayed by the hub): with the proof it is
      // in its author's log that this node received with it. Without one the destination
      // defers it, and takes it from a delivery that has one (the author's own).
      auto evidence = opt.store->ForeignEvidence(crypto::Sha256(r.payload));
      if (!evidence.ok()) return evidence.status();
      if (*evidence) item->mutable_evidence()->ParseFromString(**evidence);
    }
    auto resp = PostSigned(opt, to, "/federation/v1/events", batch.SerializeAsString(),
                           opt.request_timeout_ms);
    if (!resp.ok()) return resp.status();
    v1::BatchResult result;
    if (!result.ParseFromString(*resp)) return Status::Unavailable("unreadable batch result");
    Outcome out;
    out.settled.assign(rows.size(), false);
    for (const auto& item : result.items()) {
      auto at = index.find(static_cast<int64_t>(item.outbox_id()));
      if (at == index.end()) continue;  // not an item of this batch
      if (item.result() == v1::ITEM_DEFERRED) {
        spdlog::debug("delivery to {}: item {} deferred: {}", to, item.outbox_id(), item.reason());
        out.deferred[at->first] = item.reason();
        continue;
      }
      if (item.result() == v1::ITEM_REJECTED) {
        spdlog::warn("delivery to {}: event {} refused: {}", relay_to.empty() ? to : relay_to,
                     item.event_hash().substr(0, 16), item.reason());
      }
      out.settled[at->second] = true;
    }
    return out;
  }

  // The next rows for `s`: after its cursor, in order, skipping rows already settled (acked in
  // the store, or just now); at most batch_items, and batch_bytes of payload (at least one row).
  // `scanned` gets every row read from the cursor on, in order, with whether it is settled.
  Result<std::vector<storage::OutboxRow>> NextRows(Sender* s,
                                                   std::vector<std::pair<int64_t, bool>>* scanned) {
    std::vector<storage::OutboxRow> out;
    int64_t after = s->cursor;
    size_t bytes = 0;
    bool full = false;
    for (int page = 0; page < 8 && !full && out.size() < static_cast<size_t>(opt.batch_items);
         ++page) {
      auto rows = opt.store->OutboxAfter(s->destination, after, opt.batch_items);
      if (!rows.ok()) return rows.status();
      for (auto& r : *rows) {
        const bool settled = r.acked || s->settled_ahead.count(r.id) != 0;
        if (!settled && !out.empty() && bytes + r.payload.size() > opt.batch_bytes) {
          full = true;
          break;
        }
        scanned->emplace_back(r.id, settled);
        after = r.id;
        if (!settled) {
          bytes += r.payload.size();
          out.push_back(std::move(r));
        }
        if (out.size() >= static_cast<size_t>(opt.batch_items)) break;
      }
      if (rows->size() < static_cast<size_t>(opt.batch_items)) break;
    }
    return out;
  }

  // Moves the cursor over the settled rows that follow it; the rows `newly` settled beyond it
  // are marked acked in `w` (so a restart does not send them again and the backlog does not count
  // them).
  void Advance(Sender* s, const std::vector<std::pair<int64_t, bool>>& scanned,
               const std::vector<int64_t>& newly, storage::Write* w) {
    for (const auto& [id, was_settled] : scanned) {
      if (!was_settled && s->settled_ahead.count(id) == 0) break;
      s->cursor = id;
    }
    for (int64_t id : newly) {
      if (id > s->cursor) w->acked_outbox.push_back(id);
    }
    s->settled_ahead.erase(s->settled_ahead.begin(), s->settled_ahead.upper_bound(s->cursor));
    // The store's acked flags say the same once `w` commits: the memory only spares re-sending
    // rows whose flag is not durable yet, so it stays bounded (at worst a few rows go twice and
    // are answered as held).
    if (s->settled_ahead.size() > 65536) s->settled_ahead.clear();
  }

  // Starts `s` from the destination's stored progress.
  static void Adopt(Sender* s, const storage::DeliveryRow& d) {
    s->row = d;
    s->cursor = d.cursor;
    s->relayed = d.cursor;
    s->loaded = true;
  }

  // Reads the destination's stored progress (once per sender).
  void Load(Sender* s) {
    s->loaded = true;
    auto deliveries = opt.store->Deliveries();
    if (!deliveries.ok()) return;
    for (const auto& d : *deliveries) {
      if (d.destination == s->destination) Adopt(s, d);
    }
  }

  // One turn of `s`: sends its next batch, if any. `rewind_to` >= 0: the destination asked for
  // everything after that outbox id again.
  Next Turn(Sender* s, int64_t rewind_to) {
    if (!s->loaded) Load(s);
    if (rewind_to >= 0 && s->cursor > rewind_to) {
      spdlog::info("node {} asks for everything after outbox id {} again (cursor was {})",
                   s->destination, rewind_to, s->cursor);
      s->cursor = rewind_to;
      s->relayed = rewind_to;
      s->settled_ahead.clear();
      // Rows it had settled after that point go again too; durable before the next read.
      storage::Write w;
      w.kind = storage::Write::Kind::kBookkeeping;
      s->row.destination = s->destination;
      s->row.cursor = s->cursor;
      w.deliveries.push_back(s->row);
      w.unacked.emplace_back(s->destination, rewind_to);
      if (Status st = opt.store->Enqueue(std::move(w)).get(); !st.ok()) {
        spdlog::warn("rewinding the delivery to {} failed: {}", s->destination, st.message());
      }
    }
    std::vector<std::pair<int64_t, bool>> scanned;
    auto rows = NextRows(s, &scanned);
    if (!rows.ok() || rows->empty()) return {Next::kIdle};
    uint64_t covered = 0;
    const size_t ready = Deliverable(*rows, &covered);
    // The log's next checkpoint (within checkpoint_interval_ms) will cover them: it wakes the
    // sender (polling instead cost hundreds of idle turns a second on a machine of 553 nodes).
    if (ready == 0) return {Next::kSoon, kAwaitCheckpointMs, covered};
    rows->resize(ready);
    const int64_t now = opt.clock->NowMs();
    auto sent = Send(s->destination, *rows, "");
    if (sent.ok()) {
      storage::Write w;
      w.kind = storage::Write::Kind::kBookkeeping;
      std::vector<int64_t> newly;  // settled by this batch
      for (size_t i = 0; i < rows->size(); ++i) {
        const auto& r = (*rows)[i];
        if (sent->settled[i]) {
          s->settled_ahead.insert(r.id);
          newly.push_back(r.id);
          continue;
        }
        auto deferred = sent->deferred.find(r.id);
        if (deferred == sent->deferred.end() || opt.dead_letter_after_ms <= 0 ||
            now - r.created_ms < opt.dead_letter_after_ms) {
          continue;
        }
        // Deferred for too long: out of the queue, onto the dead-letter list.
        spdlog::warn(
            "delivery to {}: item {} deferred since {} ms, moved to the dead-letter "
            "list: {}",
            s->destination, r.id, now - r.created_ms, deferred->second);
        w.dead_letters.push_back({r.id, deferred->second, now});
        s->settled_ahead.insert(r.id);
        newly.push_back(r.id);
      }
      if (!newly.empty()) {
        Advance(s, scanned, newly, &w);
        s->relayed = std::max(s->relayed, s->cursor);
        s->row.last_success_ms = now;
        s->row.failing_since_ms = 0;
        s->attempt = 0;
        s->row.destination = s->destination;
        s->row.cursor = s->cursor;
        w.deliveries.push_back(s->row);
        // The row moves and the cursor that passes it commit together.
        opt.store->Enqueue(std::move(w), [](const Status&) {});
        return {Next::kNow};
      }
    }
    // Nothing settled: the destination failed or deferred every item.
    if (!sent.ok()) {
      s->row.last_error = sent.status().message();
      s->row.last_error_ms = now;
      if (s->row.failing_since_ms == 0) s->row.failing_since_ms = now;
      SaveRow(s);
      spdlog::debug("delivery to {} failed: {}", s->destination, sent.status().message());
      MaybeRelay(s, now);
    }
    const int64_t cap =
        std::min<int64_t>(opt.retry_max_ms, opt.retry_initial_ms << std::min(s->attempt, 20));
    ++s->attempt;
    std::uniform_int_distribution<int64_t> jitter(cap / 2, cap);
    thread_local std::mt19937_64 rng(std::random_device{}());
    // Backing off: new commits do not cut this short (that would hammer a node that is down);
    // a rewind from the destination (it is back) or Stop does.
    return {Next::kBackoff, jitter(rng)};
  }

  // A worker of the pool: runs the sender due first (a failing destination's after the others',
  // and at most half the pool on failing ones), then the next; sleeps until one is due.
  void Work(int index) {
    SetThreadName("lapor-send-" + std::to_string(index));
    const int failing_cap = std::max(1, opt.sender_threads / 2);
    MutexLock lock(mu);
    uint64_t seen = schedule_changes;
    while (!stopping) {
      const auto now = SteadyClock::now();
      Sender* pick = nullptr;
      auto next_due = now + std::chrono::milliseconds(kSenderIdleMs);
      for (auto& [destination, s] : senders) {
        if (s->running) continue;
        if (s->due > now) {
          next_due = std::min(next_due, s->due);
          continue;
        }
        if (s->failing && failing_running >= failing_cap) continue;  // a turn ending wakes us
        if (pick == nullptr || (pick->failing && !s->failing) ||
            (pick->failing == s->failing && s->due < pick->due)) {
          pick = s.get();
        }
      }
      if (pick == nullptr) {
        cv.WaitUntil(lock, next_due,
                     [&]() LAPOR_REQUIRES(mu) { return stopping || schedule_changes != seen; });
        seen = schedule_changes;
        continue;
      }
      pick->running = true;
      pick->woken = false;
      pick->backing_off = false;
      pick->awaiting_checkpoint = false;
      const bool counted = pick->failing;
      if (counted) ++failing_running;
      const int64_t rewind_to = std::exchange(pick->rewind_to, -1);
      lock.Unlock();
      const Next next = Turn(pick, rewind_to);
      lock.Lock();
      pick->running = false;
      if (counted) --failing_running;
      if (next.kind != Next::kSoon) pick->failing = next.kind == Next::kBackoff;
      const auto after = SteadyClock::now();
      switch (next.kind) {
        case Next::kNow:
          pick->due = after;  // behind the senders that waited longer
          break;
        case Next::kIdle:
          pick->due = pick->woken ? after : after + std::chrono::milliseconds(kSenderIdleMs);
          break;
        case Next::kSoon:  // new rows cannot go before the ones waiting for the checkpoint
          if (checkpoint_size > next.covered) {  // one came during the turn
            pick->due = after;
          } else {
            pick->awaiting_checkpoint = true;
            pick->due = after + std::chrono::milliseconds(next.ms);
          }
          break;
        case Next::kBackoff:
          pick->backing_off = true;
          pick->due = after + std::chrono::milliseconds(next.ms);
          break;
      }
      if (pick->rewind_to >= 0) {  // asked while it ran
        pick->backing_off = false;
        pick->due = after;
      }
      // Another worker may be asleep past this sender's new due time.
      ++schedule_changes;
      seen = schedule_changes;
      cv.NotifyOne();
    }
  }

  // A worker for each of `due` senders made due (at most the pool); called without mu.
  void NotifyWorkers(size_t due) {
    const size_t workers = static_cast<size_t>(std::max(1, opt.sender_threads));
    for (size_t i = 0; i < std::min(due, workers); ++i) cv.NotifyOne();
  }

  // The sender of `destination`, made (due now) if there is none. Requires mu.
  Sender* SenderLocked(const std::string& destination) LAPOR_REQUIRES(mu) {
    auto it = senders.find(destination);
    if (it != senders.end()) return it->second.get();
    auto s = std::make_unique<Sender>();
    s->destination = destination;
    s->due = SteadyClock::now();
    return senders.emplace(destination, std::move(s)).first->second.get();
  }

  // Makes `destination`'s sender due now (unless it is backing off or running: then its turn
  // ends in another at once). Returns whether a worker should come for it. Requires mu.
  bool WakeLocked(const std::string& destination) LAPOR_REQUIRES(mu) {
    if (destination == opt.node_id) return false;
    Sender* s = SenderLocked(destination);
    if (s->running) {
      s->woken = true;
      return false;
    }
    // New rows cannot pass the row waiting for the checkpoint: the checkpoint wakes it.
    if (s->backing_off || s->awaiting_checkpoint) return false;
    s->due = std::min(s->due, SteadyClock::now());
    return true;
  }

  // Store-and-forward: rows a long-unreachable destination has not taken go to the hub too.
  void MaybeRelay(Sender* s, int64_t now) {
    const std::string hub(protocol::kHubNode);
    if (opt.relay_after_ms <= 0 || s->destination == hub || opt.node_id == hub) return;
    if (now - s->row.failing_since_ms < opt.relay_after_ms) return;
    auto rows =
        opt.store->OutboxAfter(s->destination, std::max(s->cursor, s->relayed), opt.batch_items);
    if (!rows.ok() || rows->empty()) return;
    rows->resize(Deliverable(*rows));
    size_t fit = 0, bytes = 0;
    for (; fit < rows->size(); ++fit) {
      bytes += (*rows)[fit].payload.size();
      if (fit > 0 && bytes > opt.batch_bytes) break;
    }
    rows->resize(fit);
    if (rows->empty()) return;
    auto sent = Send(hub, *rows, s->destination);
    const size_t settled = sent.ok() ? sent->Leading() : 0;
    if (settled > 0) {
      s->relayed = (*rows)[settled - 1].id;
      spdlog::info("handed {} item(s) for {} to the hub to relay", settled, s->destination);
    }
  }

  void Discover() {
    SetThreadName("lapor-discover");
    int64_t pruned_at = 0;
    do {
      auto deliveries = opt.store->Deliveries();
      if (deliveries.ok()) {
        MutexLock lock(mu);
        bool made = false;
        const auto steady_now = SteadyClock::now();
        for (const auto& d : *deliveries) {
          if (d.backlog <= 0 || d.destination == opt.node_id) continue;
          if (auto it = senders.find(d.destination); it != senders.end()) {
            // The safety net for rows no wake announced: an idle sender with backlog looks now.
            Sender* idle = it->second.get();
            if (!idle->running && !idle->backing_off && !idle->awaiting_checkpoint &&
                idle->due > steady_now) {
              idle->due = steady_now;
              made = true;
            }
            continue;
          }
          // Its progress as just read (no sender existed to move it): its first turn need not
          // read every destination's again.
          Adopt(SenderLocked(d.destination), d);
          made = true;
        }
        if (made) {
          ++schedule_changes;
          cv.NotifyAll();
        }
      }
      const int64_t now = opt.clock->NowMs();
      if (opt.outbox_retention_ms > 0 && now - pruned_at >= opt.prune_interval_ms) {
        pruned_at = now;
        Prune(now - opt.outbox_retention_ms);
      }
      // New outbox rows wake their senders at once (Wake); this finds rows queued otherwise, for
      // destinations without a sender or with an idle one.
    } while (Sleep(opt.discovery_interval_ms));
  }

  // Deletes acknowledged outbox rows created before `before_ms`, a bounded number per commit so
  // the committer is never held long.
  void Prune(int64_t before_ms) {
    storage::Write w;
    w.kind = storage::Write::Kind::kBookkeeping;
    w.prune_outbox_before_ms = std::max<int64_t>(before_ms, 1);
    opt.store->Enqueue(std::move(w), [](const Status& s) {
      if (!s.ok()) spdlog::warn("pruning delivered outbox rows failed: {}", s.message());
    });
  }
};

Replicator::Replicator(ReplicatorOptions options) : impl_(new Impl) {
  impl_->opt = std::move(options);
}

Replicator::~Replicator() { Stop(); }

void Replicator::SetLog(const storage::TreeLog* log) { impl_->opt.log = log; }

void Replicator::Start() {
  impl_->discoverer = std::thread([impl = impl_.get()] { impl->Discover(); });
  for (int i = 0; i < std::max(1, impl_->opt.sender_threads); ++i) {
    impl_->workers.emplace_back([impl = impl_.get(), i] { impl->Work(i); });
  }
}

void Replicator::Stop() {
  {
    MutexLock lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.NotifyAll();
  impl_->discover_cv.NotifyAll();
  if (impl_->discoverer.joinable()) impl_->discoverer.join();
  for (auto& w : impl_->workers) {
    if (w.joinable()) w.join();
  }
  impl_->workers.clear();
  MutexLock lock(impl_->mu);
  impl_->senders.clear();
}

void Replicator::Wake(const std::vector<std::string>& destinations) {
  size_t due = 0;  // senders made due now: a worker for each (on the committer's thread: cheap)
  {
    MutexLock lock(impl_->mu);
    if (impl_->stopping) return;
    for (const auto& d : destinations) due += impl_->WakeLocked(d) ? 1 : 0;
    if (due == 0) return;
    ++impl_->schedule_changes;
  }
  impl_->NotifyWorkers(due);
}

void Replicator::CheckpointAdvanced(uint64_t size) {
  size_t due = 0;
  {
    MutexLock lock(impl_->mu);
    if (impl_->stopping || size <= impl_->checkpoint_size) return;
    impl_->checkpoint_size = size;
    const auto now = Impl::SteadyClock::now();
    for (auto& [destination, s] : impl_->senders) {
      if (!s->awaiting_checkpoint) continue;  // never set while it runs (a turn clears it)
      s->awaiting_checkpoint = false;
      s->due = std::min(s->due, now);
      ++due;
    }
    if (due == 0) return;
    ++impl_->schedule_changes;
  }
  impl_->NotifyWorkers(due);
}

void Replicator::Rewind(const std::string& destination, int64_t after_id) {
  {
    MutexLock lock(impl_->mu);
    if (impl_->stopping || destination == impl_->opt.node_id) return;
    Impl::Sender* s = impl_->SenderLocked(destination);
    s->rewind_to = std::max<int64_t>(after_id, 0);
    s->backing_off = false;  // the destination is back
    s->awaiting_checkpoint = false;
    impl_->WakeLocked(destination);
    ++impl_->schedule_changes;
  }
  impl_->cv.NotifyAll();
}

std::string PeerUrl(const ReplicatorOptions& opt, const std::string& node) {
  auto it = opt.peer_urls.find(node);
  if (it != opt.peer_urls.end()) return it->second;
  auto m = opt.directory != nullptr ? opt.directory->Get() : nullptr;
  if (!m) return {};
  const v1::Member* member = protocol::FindNode(*m, node);
  return member != nullptr ? member->base_url() : std::string();
}

}  // namespace lapor::federation

namespace lapor::federation {

Result<int> CatchUpAtStart(const ReplicatorOptions& opt, OwnLog* service, CatchUpReport* report,
                           bool every_peer) {
  CatchUpReport local;
  if (report == nullptr) report = &local;
  *report = CatchUpReport{};
  auto m = opt.directory != nullptr ? opt.directory->Get() : nullptr;
  if (!m) return 0;
  // The hub first: it holds every cross-jurisdiction event. Then the peers this node has
  // delivered to (they may hold an event the hub has not received yet), or every peer when the
  // hub does not answer or the node was restored.
  std::set<std::string> delivered_to;
  if (!every_peer) {
    auto deliveries = opt.store->Deliveries();
    if (deliveries.ok()) {
      for (const auto& d : *deliveries) delivered_to.insert(d.destination);
    } else {
      every_peer = true;
    }
  }
  std::vector<std::string> peers;
  const std::string hub(protocol::kHubNode);
  if (opt.node_id != hub && protocol::FindNode(*m, hub) != nullptr) peers.push_back(hub);
  std::vector<std::string> others;  // asked only when the hub does not answer
  for (const auto& member : m->members()) {
    if (member.node_id() == opt.node_id || member.node_id() == hub) continue;
    if (every_peer || delivered_to.count(member.node_id()) != 0) {
      peers.push_back(member.node_id());
    } else {
      others.push_back(member.node_id());
    }
  }
  int recovered = 0;
  auto ask = [&](const std::string& peer) {
    const std::string url = PeerUrl(opt, peer);
    if (url.empty()) return;
    bool first_page = true;
    for (;;) {
      v1::PullRequest pull;
      pull.set_author(opt.node_id);
      pull.set_from_seq(service->next_seq());
      pull.set_limit(500);
      auto resp = PostSigned(opt, peer, "/federation/v1/pull", pull.SerializeAsString(), 3000);
      if (!resp.ok()) {
        spdlog::info("catch-up: node {} not reachable ({})", peer, resp.status().message());
        break;
      }
      v1::PullResponse out;
      if (!out.ParseFromString(*resp)) break;
      if (first_page) {
        first_page = false;
        ++report->answered;
        if (peer == protocol::kHubNode) report->hub_answered = true;
      }
      if (out.envelopes().empty()) break;
      // The peer's copies are in seq order: the last one is the highest it holds of this page.
      // Beyond the page, the highest it holds at all (author_next_seq - 1) counts only once the
      // peer shows that event signed by this node: a member's word alone must not make the node
      // stop signing, or lead its operator to declare seqs lost that never were.
      {
        // Signed by a key the manifest lists for this node at the event's time (earlier keys
        // too), or by its key of now.
        auto signed_seq = [&](const std::string& bytes) -> std::optional<uint64_t> {
          protocol::EventEnvelope p;
          if (!protocol::ParseEventEnvelope(bytes, &p).ok() || p.event.node_id() != opt.node_id) {
            return std::nullopt;
          }
          const bool by_key_now =
              opt.key != nullptr && protocol::SignedBy(p.envelope, opt.key->public_key());
          if (!by_key_now && !protocol::VerifyEventEnvelope(*m, p.envelope, p.event).ok()) {
            return std::nullopt;
          }
          return p.event.seq();
        };
        uint64_t seen = 0;
        if (auto last = signed_seq(*out.envelopes().rbegin())) seen = *last + 1;
        if (out.author_next_seq() > seen) {
          v1::PullRequest highest;
          highest.set_author(opt.node_id);
          highest.set_from_seq(out.author_next_seq() - 1);
          highest.set_limit(1);
          auto r = PostSigned(opt, peer, "/federation/v1/pull", highest.SerializeAsString(), 3000);
          v1::PullResponse shown;
          if (r.ok() && shown.ParseFromString(*r) && !shown.envelopes().empty()) {
            if (auto s = signed_seq(shown.envelopes(0)); s && *s + 1 > seen) seen = *s + 1;
          }
        }
        if (seen > report->highest_seen) {
          report->highest_seen = seen;
          report->highest_from = peer;
        }
      }
      int n = 0;
      // The whole page in one go (one group commit); event by event only where a case's earlier
      // events must be fetched first (events already re-appended are skipped).
      auto page = service->RecoverOwnEvents({out.envelopes().begin(), out.envelopes().end()});
      if (page.ok()) {
        recovered += *page;
        if (*page == 0) break;
        continue;
      }
      for (const auto& envelope : out.envelopes()) {
        auto one = service->RecoverOwnEvents({envelope});
        if (!one.ok() && one.status().code() != Status::Code::kPermissionDenied) {
          // The event continues a case whose earlier events (by other nodes) were lost with
          // the rest: take the case's chain from the same peer, then try again.
          v1::Envelope env;
          v1::Event ev;
          env.ParseFromString(envelope);
          ev.ParseFromString(env.payload());
          v1::PullRequest chain_req;
          chain_req.set_case_id(ev.case_id());
          auto chain =
              PostSigned(opt, peer, "/federation/v1/pull", chain_req.SerializeAsString(), 3000);
          v1::PullResponse chain_out;
          if (chain.ok() && chain_out.ParseFromString(*chain)) {
            v1::EventBatch batch;
            batch.set_sender(peer);
            for (int k = 0; k < chain_out.envelopes_size(); ++k) {
              auto* item = batch.add_items();
              item->set_envelope(chain_out.envelopes(k));
              if (k < chain_out.evidence_size()) *item->mutable_evidence() = chain_out.evidence(k);
            }
            service->ApplyFetchedChain(peer, batch);
          }
          one = service->RecoverOwnEvents({envelope});
        }
        if (!one.ok()) {
          spdlog::error("catch-up from node {}: {}", peer, one.status().ToString());
          break;
        }
        n += *one;
      }
      if (n == 0) break;
      recovered += n;
    }
  };
  for (const auto& peer : peers) ask(peer);
  // The hub did not answer: any peer may hold what it would have. (The hub itself asks the
  // members it delivered to.)
  if (!report->hub_answered && opt.node_id != hub) {
    for (const auto& peer : others) ask(peer);
  }
  if (recovered > 0) {
    spdlog::warn(
        "catch-up: recovered {} event(s) of this node's own log from other nodes "
        "(restored from a backup?)",
        recovered);
  }
  report->recovered = recovered;
  return recovered;
}

int AskPeersToResend(const ReplicatorOptions& opt, bool restored) {
  auto m = opt.directory != nullptr ? opt.directory->Get() : nullptr;
  if (!m) return 0;
  std::vector<std::string> peers;
  for (const auto& member : m->members()) {
    if (member.node_id() != opt.node_id) peers.push_back(member.node_id());
  }
  int asked = 0;
  for (const auto& peer : peers) {
    const std::string url = PeerUrl(opt, peer);
    if (url.empty()) continue;
    auto last = opt.store->ReceivedFrom(peer);
    if (!last.ok() || (*last == 0 && !restored)) continue;
    ++asked;
    v1::RewindRequest rewind;
    rewind.set_from_outbox_id(static_cast<uint64_t>(*last) + 1);
    auto resp = PostSigned(opt, peer, "/federation/v1/rewind", rewind.SerializeAsString(), 3000);
    if (!resp.ok()) {
      spdlog::info("catch-up: could not ask node {} to resend: {}", peer, resp.status().message());
    }
  }
  return asked;
}

}  // namespace lapor::federation
