#include "audit/verifier.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "lapor/v1/event.pb.h"
#include "protocol/directory.h"
#include "protocol/envelope.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"

namespace lapor::audit {
namespace {

struct Checked {
  bool signed_ok = false;
  std::optional<uint64_t> lost;  // the seq a lost event's placeholder stands for
  v1::Event event;
  std::string hash;  // SHA-256 of the envelope: the event hash its successor chains to
  std::string leaf;  // RFC 6962 leaf hash
  std::string error;
};

struct NodeKey {
  std::string public_key;
  std::string keyid;
};

// Empty if one of the envelope's signatures is by an acceptable key, else why none is. Without a
// manifest the acceptable key is the checkpoint's; with one, a key the author node (read from the
// payload `claimed`, not yet trusted; null if the payload is not an event) held at the event's
// time.
std::string SignatureProblem(const v1::Envelope& env, const std::vector<NodeKey>& keys,
                             const v1::Manifest* manifest, const v1::Event* claimed) {
  if (manifest == nullptr) {
    for (const auto& k : keys) {
      if (protocol::SignedBy(env, k.public_key, k.keyid)) return "";
    }
    return "no valid signature by the node's key " + keys.front().keyid +
           (keys.size() > 1 ? " or an earlier one given" : "");
  }
  if (claimed == nullptr) return "signed payload is not an event";
  Status s = protocol::VerifyEventEnvelope(*manifest, env, *claimed);
  if (s.ok()) return "";
  if (s.code() == Status::Code::kUnauthenticated) {
    return "node '" + claimed->node_id() + "' is not a federation member";
  }
  return s.message();
}

// What the replay of this log knows of one case.
struct CaseTrack {
  // The replay of the case's links in this log, while they connect: a serialized v1::CaseState
  // (empty before the first). A few hundred bytes per case instead of a live message's ~1.2 KB,
  // so the state of a log of millions of cases stays in memory.
  std::string state;
  bool submitted_here = false;  // the submission is in this log (and was replayed)
  // A link of this log follows links that are not in it (or the case's first event here is not
  // its submission): the case continues in other nodes' logs and `state` stops before that link.
  bool elsewhere = false;
  bool listed = false;  // among the candidates for continuing cases
  // This log's events of the case (seq -> hash, whether a chain link) from the moment the case
  // involves another node: the cross-node check finds each link in the case's chain. The links
  // before that are this node's alone and pinned by the first recorded one's prev_hash.
  struct Own {
    std::string hash;
    bool link = true;
  };
  std::map<uint64_t, Own> recorded;
};

// Whether the link after `s` may be another node's: the case is owned by, or being handed to,
// another node.
bool NextLinkMayBeForeign(const v1::CaseState& s, const std::string& self) {
  return !s.pending_owner().empty() || s.owner_node() != self;
}

bool Continuing(const CaseTrack& t, const std::string& self) {
  if (t.elsewhere) return true;
  v1::CaseState s;
  return s.ParseFromString(t.state) && s.event_count() > 0 && NextLinkMayBeForeign(s, self);
}

// Checks the whole chain of one case continuing in other nodes' logs from every event the node
// holds of it (`envelopes`): signatures against the manifest, the log's own events in the chain
// with the same hashes, prev_hash order from the submission, and ApplyEvent over the chain.
// Returns whether it found nothing wrong.
bool CheckCrossNodeChain(const std::string& origin, const std::string& self, uint64_t log_size,
                         const std::string& case_id, const CaseTrack& track,
                         const std::vector<std::string>& envelopes, const v1::Manifest& manifest,
                         AuditReport* report) {
  const size_t failures_before = report->failures.size();
  auto fail = [&](const std::string& author, int64_t seq, const std::string& reason) {
    report->failures.push_back({origin, seq, case_id, reason, author});
  };
  auto name = [](const v1::Event& e) { return e.node_id() + "/" + std::to_string(e.seq()); };
  struct Link {
    std::string hash;
    v1::Event event;
  };
  std::vector<Link> links;
  std::set<std::string> seen;
  for (const auto& bytes : envelopes) {
    std::string hash = crypto::Sha256(bytes);
    if (!seen.insert(hash).second) continue;  // served twice: once is enough
    v1::Envelope env;
    v1::Event ev;
    if (!env.ParseFromString(bytes) || env.payload_type() != protocol::kEventPayloadType ||
        !ev.ParseFromString(env.payload())) {
      fail("", -1,
           "an event served for the case (hash " + crypto::HexEncode(hash).substr(0, 16) +
               ") is not an event envelope");
      continue;
    }
    const std::string at = "event " + name(ev) + ": ";
    const auto seq = static_cast<int64_t>(ev.seq());
    const bool own = ev.node_id() == self;
    auto logged = own ? track.recorded.find(ev.seq()) : track.recorded.end();
    if (logged != track.recorded.end() && logged->second.hash != hash) {
      fail(ev.node_id(), seq,
           at + "differs from the log's entry " + std::to_string(ev.seq()) + " of the case");
      continue;
    }
    if (logged == track.recorded.end()) {  // not verified with the log: check its signature
      std::string problem = SignatureProblem(env, {}, &manifest, &ev);
      if (!problem.empty()) {
        fail(ev.node_id(), seq, at + problem);
        continue;
      }
      if (!own) ++report->foreign_signatures_checked;
    }
    if (ev.case_id() != case_id) {
      fail(ev.node_id(), seq, at + "belongs to case " + ev.case_id());
      continue;
    }
    if (!protocol::IsChainEvent(ev.type())) {
      // A citizen message: not a link. The log's own ones must still be its entries.
      if (own && ev.seq() < log_size && logged == track.recorded.end()) {
        fail(ev.node_id(), seq, at + "is not the log's entry " + std::to_string(ev.seq()));
      }
      continue;
    }
    links.push_back({std::move(hash), std::move(ev)});
  }

  // The chain: the submission, then each link whose prev_hash is the hash of the one before.
  std::multimap<std::string, size_t> by_prev;
  for (size_t i = 0; i < links.size(); ++i) by_prev.emplace(links[i].event.prev_hash(), i);
  std::vector<size_t> chain;
  std::string at;
  bool past_first_recorded = !track.submitted_here;
  if (by_prev.count(at) == 0 && !links.empty()) {
    fail("", -1, "the case's chain has no submission among the events the node holds");
  }
  while (by_prev.count(at) > 0 && chain.size() < links.size()) {
    if (by_prev.count(at) > 1) {
      auto range = by_prev.equal_range(at);
      std::string names;
      for (auto it = range.first; it != range.second; ++it) {
        names += (names.empty() ? "" : " and ") + name(links[it->second].event);
      }
      fail("", -1,
           "the chain forks: events " + names + " follow " +
               (at.empty() ? std::string("nothing (two submissions)")
                           : "hash " + crypto::HexEncode(at).substr(0, 16)));
      break;
    }
    const size_t i = by_prev.find(at)->second;
    const v1::Event& ev = links[i].event;
    if (ev.node_id() == self && ev.seq() < log_size) {
      // The node's own links in the log: recorded ones were matched above; unrecorded ones are
      // only the case's first links here, before it involved another node, pinned by hash.
      if (track.recorded.count(ev.seq()) > 0) {
        past_first_recorded = true;
      } else if (past_first_recorded) {
        fail(ev.node_id(), static_cast<int64_t>(ev.seq()),
             "event " + name(ev) + ": is not the log's entry " + std::to_string(ev.seq()));
      }
    }
    chain.push_back(i);
    at = links[i].hash;
  }
  std::set<std::string> in_chain;
  for (size_t i : chain) in_chain.insert(links[i].hash);
  for (const auto& link : links) {
    const bool logged = link.event.node_id() == self && track.recorded.count(link.event.seq()) > 0;
    if (in_chain.count(link.hash) == 0 && !logged) {  // the log's own are named just below
      fail(link.event.node_id(), static_cast<int64_t>(link.event.seq()),
           "event " + name(link.event) + ": does not link into the case's chain");
    }
  }
  for (const auto& [seq, own] : track.recorded) {
    if (own.link && in_chain.count(own.hash) == 0) {
      fail(self, static_cast<int64_t>(seq),
           "the log's event " + self + "/" + std::to_string(seq) +
               " is not in the case's chain the node holds");
    }
  }
  // The lifecycle over the whole chain, whoever authored each link: the one-owner rule included.
  v1::CaseState state;
  for (size_t i : chain) {
    const v1::Event& ev = links[i].event;
    Status s = protocol::ApplyEvent(ev, links[i].hash, &state);
    if (!s.ok()) {
      fail(ev.node_id(), static_cast<int64_t>(ev.seq()), "event " + name(ev) + ": " + s.message());
      break;  // the links after it follow a state that was refused
    }
  }
  return report->failures.size() == failures_before;
}

// Why the served hash tile (level, index) of `width` hashes (256 = full) is not `expected`, the
// hashes recomputed from the entries; nullopt if it is.
std::optional<Failure> TileProblem(const std::string& origin, uint32_t level, uint64_t index,
                                   uint64_t width, const Result<std::string>& served,
                                   std::string_view expected) {
  const std::string where = "tile " + std::to_string(level) + "/" + crypto::EncodeTileIndex(index) +
                            (width == crypto::kTileWidth ? "" : ".p/" + std::to_string(width));
  if (!served.ok()) return Failure{origin, -1, "", where + ": " + served.status().message(), ""};
  if (*served == expected) return std::nullopt;
  int64_t first_bad = -1;
  for (uint64_t i = 0; i < width && first_bad < 0; ++i) {
    if (std::string_view(*served).substr(i * 32, 32) != expected.substr(i * 32, 32))
      first_bad = static_cast<int64_t>(i);
  }
  return Failure{origin, -1, "",
                 where + " differs from the tree recomputed from the entries" +
                     (first_bad >= 0 ? " (hash " + std::to_string(first_bad) + ")" : " (length)"),
                 ""};
}

// Compares the served tiles from level `first_level` up with the tree whose nodes at height
// 8 * first_level are `level` (tile level L holds the tree's nodes at height 8L).
void CheckTiles(const AuditInput& in, const std::string& origin, uint32_t first_level,
                std::vector<std::string> level, AuditReport* report) {
  for (uint32_t tile_level = first_level; !level.empty(); ++tile_level) {
    const uint64_t count = level.size();
    for (uint64_t index = 0; index * crypto::kTileWidth < count; ++index) {
      const uint64_t width =
          std::min<uint64_t>(crypto::kTileWidth, count - index * crypto::kTileWidth);
      std::string expected;
      for (uint64_t i = 0; i < width; ++i) expected += level[index * crypto::kTileWidth + i];
      auto served = in.tiles(tile_level, index,
                             width == crypto::kTileWidth ? 0 : static_cast<uint32_t>(width));
      if (auto problem = TileProblem(origin, tile_level, index, width, served, expected))
        report->failures.push_back(std::move(*problem));
    }
    // The next tile level: roots of each full run of 256 nodes (height + 8).
    level.resize(count / crypto::kTileWidth * crypto::kTileWidth);
    level = crypto::FoldUp(std::move(level), 8);
  }
}

// One entry bundle (tile) of the log on its way through the pipeline: fetched, checked by a
// worker, replayed in log order.
struct Chunk {
  // kChecking matters: with a slow worker, next_check can come round to this slot again (64
  // tiles later) while this tile is still being checked, and must not take it as fetched.
  enum State { kFree, kFetched, kChecking, kChecked };
  State state = kFree;
  uint64_t from = 0;
  uint64_t count = 0;
  std::optional<Result<std::vector<std::string>>> entries;
  std::optional<Result<std::string>> tile;  // its level-0 hash tile as served (with in.tiles)
  // Set by the worker. `checked` keeps its parsed events' memory from one use of the slot to the
  // next.
  std::vector<Checked> checked;
  std::string leaves;                   // the leaf hashes, concatenated: the level-0 tile's bytes
  std::string root;                     // the subtree root of a full tile
  std::optional<Failure> tile_problem;  // the served level-0 tile differs
};

// Hashes, parses and verifies the signature of every entry of `c` (a worker's part).
void CheckChunk(Chunk& c, const std::string& origin, const std::vector<NodeKey>& keys,
                const v1::Manifest* manifest, bool check_tile) {
  const std::vector<std::string>& entries = **c.entries;
  c.checked.resize(entries.size());
  c.leaves.clear();
  v1::Envelope env;
  for (size_t i = 0; i < entries.size(); ++i) {
    Checked& k = c.checked[i];
    const std::string& bytes = entries[i];
    k.signed_ok = false;
    k.error.clear();
    k.event.Clear();
    k.hash = crypto::Sha256(bytes);
    k.leaf = crypto::LeafHash(bytes);
    c.leaves += k.leaf;
    k.lost = protocol::ParseLostEntry(bytes);
    if (k.lost) continue;  // judged in log order, with the event that declares it
    if (!env.ParseFromString(bytes)) {
      k.error = "entry is not an event envelope";
      continue;
    }
    if (env.payload_type() != protocol::kEventPayloadType) {
      k.error = "unexpected payload type '" + env.payload_type() + "'";
      continue;
    }
    const bool parsed = k.event.ParseFromString(env.payload());
    k.error = SignatureProblem(env, keys, manifest, parsed ? &k.event : nullptr);
    if (!k.error.empty()) continue;
    k.signed_ok = true;
    if (!parsed) k.error = "signed payload is not an event";
  }
  c.root.clear();
  if (entries.size() == crypto::kTileWidth) {
    std::vector<std::string> leaves;
    for (const Checked& k : c.checked) leaves.push_back(k.leaf);
    c.root = crypto::FoldUp(std::move(leaves), 8)[0];
  }
  c.tile_problem.reset();
  if (check_tile && c.tile) {
    c.tile_problem =
        TileProblem(origin, 0, c.from / crypto::kTileWidth, entries.size(), *c.tile, c.leaves);
  }
}

}  // namespace

Result<AuditReport> VerifyLog(const AuditInput& in) {
  crypto::Init();
  auto verifier = crypto::NoteVerifier::Parse(in.vkey);
  if (!verifier.ok())
    return Status::InvalidArgument("bad verifier key: " + verifier.status().message(), "vkey");
  std::vector<crypto::NoteVerifier> earlier;
  for (const auto& e : in.earlier_vkeys) {
    auto v = crypto::NoteVerifier::Parse(e);
    if (!v.ok()) {
      return Status::InvalidArgument("bad earlier verifier key: " + v.status().message(),
                                     "earlier-vkey");
    }
    earlier.push_back(*v);
  }
  auto note = crypto::SignedNote::Parse(in.checkpoint_note);
  if (!note.ok())
    return Status::Corruption("checkpoint is not a signed note: " + note.status().message());
  AuditReport report;
  report.origin = verifier->name;
  auto fail = [&](int64_t index, std::string case_id, std::string reason) {
    report.failures.push_back({verifier->name, index, std::move(case_id), std::move(reason), ""});
  };
  if (Status s = crypto::VerifyNote(*note, *verifier); !s.ok()) {
    fail(-1, "", "checkpoint signature: " + s.message());
    return report;
  }
  auto cp = crypto::Checkpoint::ParseBody(note->text);
  if (!cp.ok()) return Status::Corruption("checkpoint body: " + cp.status().message());
  if (cp->origin != verifier->name) {
    fail(-1, "", "checkpoint origin '" + cp->origin + "' differs from the key's name");
  }
  report.size = cp->size;
  report.root = cp->root_hash;
  if (in.previous && in.previous->size > cp->size) {
    fail(-1, "",
         "the log shrank: " + std::to_string(in.previous->size) + " entries seen before, " +
             std::to_string(cp->size) + " now");
  }

  const int threads =
      in.threads > 0 ? in.threads : std::max(1u, std::thread::hardware_concurrency());
  report.threads = threads;
  std::vector<NodeKey> keys = {{verifier->public_key, crypto::KeyIdOf(verifier->public_key)}};
  for (const auto& e : earlier) keys.push_back({e.public_key, crypto::KeyIdOf(e.public_key)});
  crypto::CompactRange tree;
  std::unordered_map<std::string, CaseTrack> cases;
  std::vector<std::string> candidates;  // cases that may continue in other nodes' logs
  // At most one case per entry: buckets up front (for up to a million: the size is not verified
  // yet), so the table seldom rehashes.
  cases.reserve(std::min<uint64_t>(cp->size, uint64_t{1} << 20));
  std::string node_id;
  const v1::Manifest* manifest = in.manifest ? &*in.manifest : nullptr;

  // Tile by tile, three stages run at once: a fetcher downloads the entry bundles (and level-0
  // hash tiles) in order, `threads` workers hash them and check their signatures, and this thread
  // replays them in log order (tree, sequence, chains). Nothing waits on a batch boundary; at most
  // kAhead tiles are in memory.
  constexpr uint64_t kAhead = 64;
  const uint64_t tile_count = cp->size / crypto::kTileWidth +
                              (cp->size % crypto::kTileWidth != 0);  // no overflow near 2^64
  std::vector<Chunk> ring(std::min<uint64_t>(kAhead, tile_count));
  std::mutex mu;
  // Each stage waits on its own condition, so a tile moving on wakes only the stage it feeds.
  std::condition_variable slot_freed, tile_fetched, tile_checked;
  uint64_t replayed = 0;    // tiles replayed (their slots are free again)
  uint64_t next_check = 0;  // the next tile a worker takes
  bool stop = false;        // the audit ends early (a fetch failed)
  auto slot = [&](uint64_t k) -> Chunk& { return ring[k % ring.size()]; };

  std::thread fetcher([&] {
    for (uint64_t k = 0; k < tile_count; ++k) {
      {
        std::unique_lock<std::mutex> lock(mu);
        slot_freed.wait(lock, [&] { return stop || k < replayed + ring.size(); });
        if (stop) return;
      }
      const uint64_t from = k * crypto::kTileWidth;
      const uint64_t count = std::min<uint64_t>(crypto::kTileWidth, cp->size - from);
      auto entries = in.entries(from, count);
      if (entries.ok() && entries->size() != count) {
        entries =
            Status::Corruption("expected " + std::to_string(count) + " entries from " +
                               std::to_string(from) + ", got " + std::to_string(entries->size()));
      }
      std::optional<Result<std::string>> tile;
      if (in.tiles && entries.ok())
        tile = in.tiles(0, k, count == crypto::kTileWidth ? 0 : static_cast<uint32_t>(count));
      const bool failed = !entries.ok();
      {
        std::lock_guard<std::mutex> lock(mu);
        Chunk& c = slot(k);
        c.from = from;
        c.count = count;
        c.entries = std::move(entries);
        c.tile = std::move(tile);
        c.state = Chunk::kFetched;
      }
      tile_fetched.notify_one();
      if (failed) return;  // the audit stops at this tile
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (;;) {
        uint64_t k;
        {
          std::unique_lock<std::mutex> lock(mu);
          tile_fetched.wait(lock, [&] {
            return stop || next_check >= tile_count || slot(next_check).state == Chunk::kFetched;
          });
          if (stop || next_check >= tile_count) {
            tile_fetched.notify_all();  // the other workers end too
            return;
          }
          k = next_check++;
          slot(k).state = Chunk::kChecking;
          // The next tile may be fetched already: another worker can take it.
          if (next_check < tile_count && slot(next_check).state == Chunk::kFetched)
            tile_fetched.notify_one();
        }
        Chunk& c = slot(k);
        if (c.entries->ok()) {
          CheckChunk(c, verifier->name, keys, manifest, static_cast<bool>(in.tiles));
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          c.state = Chunk::kChecked;
        }
        tile_checked.notify_one();
      }
    });
  }
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    slot_freed.notify_all();
    tile_fetched.notify_all();
    fetcher.join();
    for (auto& w : workers) w.join();
  };

  // The tree's nodes at height 8 (full tiles' roots): where the check of the hash tiles above
  // level 0 starts. Level-0 tile failures are listed before theirs, as the levels go.
  std::vector<std::string> tile_roots;
  std::vector<Failure> level0_failures;
  std::optional<size_t> not_append_only;  // the index of that failure in report.failures
  auto check_previous = [&] {
    if (in.previous && tree.size() == in.previous->size && tree.Root() != in.previous->root) {
      not_append_only = report.failures.size();
      fail(-1, "",
           "not append-only: the first " + std::to_string(in.previous->size) +
               " entries no longer have the root seen before");
    }
  };
  // Lost events (`lapor-node log continue`): a run of placeholders, then the node's signed
  // EVENT_LOG_GAP that declares exactly that run.
  std::optional<uint64_t> lost_from;
  auto close_lost_run = [&](uint64_t index) {
    if (!lost_from) return;
    fail(static_cast<int64_t>(*lost_from), "",
         "entries " + std::to_string(*lost_from) + "-" + std::to_string(index - 1) +
             " stand for lost events, but no EVENT_LOG_GAP right after them declares them");
    lost_from.reset();
  };
  // The lifecycle replay of one signed event of the log (its entry `index`) into its case.
  // `state` is the case's, loaded from t.state; t.state is updated when it changes.
  auto replay_event = [&](const v1::Event& ev, const std::string& hash, uint64_t index,
                          CaseTrack& t, v1::CaseState& state) {
    auto record = [&] { t.recorded[index] = {hash, protocol::IsChainEvent(ev.type())}; };
    if (!protocol::IsChainEvent(ev.type())) {
      // A citizen message the origin relays to the owner: not a link, not replayed.
      if (state.event_count() == 0) t.elsewhere = true;
      if (t.elsewhere || state.parties_size() > 1) record();
      return;
    }
    // A link that follows links not in this log: legitimate only where another node may author
    // the case's next link (or the case began elsewhere); its chain is judged as a whole, with
    // the other nodes' events, by the cross-node check.
    if (!t.elsewhere && ev.type() != v1::EVENT_SUBMITTED &&
        (state.event_count() == 0 ||
         (ev.prev_hash() != state.last_hash() && NextLinkMayBeForeign(state, node_id)))) {
      t.elsewhere = true;
    }
    if (t.elsewhere) {
      record();
      return;
    }
    Status s = protocol::ApplyEvent(ev, hash, &state);
    if (!s.ok()) {
      fail(static_cast<int64_t>(index), ev.case_id(), "case history: " + s.message());
      return;
    }
    state.SerializeToString(&t.state);
    if (ev.type() == v1::EVENT_SUBMITTED) t.submitted_here = true;
    if (state.parties_size() > 1) record();
  };
  v1::CaseState state;  // the case being replayed (reused: its strings keep their capacity)
  auto replay = [&](Chunk& chunk) {
    // A full tile joins the tree as one subtree, unless the previously audited size falls inside
    // it (then its root there is needed).
    const bool whole =
        chunk.count == crypto::kTileWidth && !(in.previous && in.previous->size > chunk.from &&
                                               in.previous->size < chunk.from + chunk.count);
    if (whole) {
      if (Status s = tree.AppendSubtree(8, chunk.root); !s.ok()) {
        fail(static_cast<int64_t>(chunk.from), "", "tree: " + s.message());
      }
      check_previous();
    }
    if (!chunk.root.empty()) tile_roots.push_back(chunk.root);
    if (chunk.tile_problem) level0_failures.push_back(std::move(*chunk.tile_problem));
    for (uint64_t i = 0; i < chunk.count; ++i) {
      const uint64_t index = chunk.from + i;
      Checked& c = chunk.checked[i];
      if (!whole) {
        if (Status s = tree.Append(c.leaf); !s.ok()) {
          fail(static_cast<int64_t>(index), "", "tree: " + s.message());
        }
        check_previous();
      }
      if (c.lost) {
        if (*c.lost != index) {
          fail(static_cast<int64_t>(index), "",
               "the lost event's placeholder stands for seq " + std::to_string(*c.lost));
        }
        if (!lost_from) lost_from = index;
        continue;
      }
      if (!c.error.empty()) {
        close_lost_run(index);
        // The case an unsigned or forged payload claims is not named.
        fail(static_cast<int64_t>(index), c.signed_ok ? c.event.case_id() : "", c.error);
        continue;
      }
      ++report.signatures_checked;
      const v1::Event& ev = c.event;
      if (ev.seq() != index) {
        fail(static_cast<int64_t>(index), ev.case_id(),
             "event carries seq " + std::to_string(ev.seq()));
      }
      if (node_id.empty()) node_id = ev.node_id();
      if (ev.node_id() != node_id) {
        fail(static_cast<int64_t>(index), ev.case_id(), "authored by node '" + ev.node_id() + "'");
      }
      if (ev.type() == v1::EVENT_LOG_GAP) {
        const uint64_t first = ev.log_gap().first_lost();
        if (!lost_from || *lost_from != first || !ev.case_id().empty()) {
          fail(static_cast<int64_t>(index), "",
               "declares entries " + std::to_string(first) + "-" +
                   std::to_string(index == 0 ? 0 : index - 1) +
                   " lost, but they are not exactly the placeholders before it");
        } else {
          report.lost.push_back(
              {first, index, ev.log_gap().previous_origin(), ev.log_gap().origin(), ev.time_ms()});
        }
        lost_from.reset();
        continue;  // not a case event
      }
      close_lost_run(index);
      CaseTrack& t = cases[ev.case_id()];
      if (!state.ParseFromString(t.state)) state.Clear();  // only this code writes t.state
      replay_event(ev, c.hash, index, t, state);
      // Only cases that ever involved another node can continue in other nodes' logs: the list
      // of those that do is drawn from these at the end.
      if (!t.listed && (t.elsewhere || NextLinkMayBeForeign(state, node_id))) {
        t.listed = true;
        candidates.push_back(ev.case_id());
      }
    }
  };
  for (uint64_t k = 0; k < tile_count; ++k) {
    {
      std::unique_lock<std::mutex> lock(mu);
      tile_checked.wait(lock, [&] { return slot(k).state == Chunk::kChecked; });
    }
    Chunk& chunk = slot(k);
    if (!chunk.entries->ok()) {
      Status error = chunk.entries->status();
      finish();
      return error;
    }
    replay(chunk);
    {
      std::lock_guard<std::mutex> lock(mu);
      chunk.state = Chunk::kFree;
      chunk.entries.reset();
      replayed = k + 1;
    }
    slot_freed.notify_one();
  }
  finish();
  if (lost_from) close_lost_run(tree.size());
  // Each declared loss starts a new log: its origin changes, from one declaration to the next, to
  // the origin of the checkpoint; and the auditor accepts it knowingly.
  for (size_t i = 0; i < report.lost.size(); ++i) {
    const LostRange& g = report.lost[i];
    const std::string next_previous =
        i + 1 < report.lost.size() ? report.lost[i + 1].previous_origin : verifier->name;
    const std::string range = std::to_string(g.first) + "-" + std::to_string(g.declared_at - 1);
    if (g.origin == g.previous_origin || g.origin != next_previous) {
      fail(static_cast<int64_t>(g.declared_at), "",
           "the declaration of lost entries " + range + " continues the log as '" + g.origin +
               "' (before: '" + g.previous_origin + "'), but the log goes on as '" + next_previous +
               "'");
    }
    const bool accepted =
        (in.previous && in.previous->size > g.declared_at) ||
        std::find(in.accept_lost.begin(), in.accept_lost.end(),
                  std::make_pair(g.first, g.declared_at - 1)) != in.accept_lost.end();
    if (!accepted) {
      fail(static_cast<int64_t>(g.first), "",
           "entries " + range + " stand for events the node declared lost (its entry " +
               std::to_string(g.declared_at) + "; the log was '" + g.previous_origin +
               "' before): confirm the loss with the node's operators, then pass --accept-lost " +
               range);
    }
  }
  if (not_append_only && in.previous) {
    for (const auto& gap : report.lost) {
      if (gap.first < in.previous->size && in.previous->size <= gap.declared_at) {
        report.failures[*not_append_only].reason =
            "the audit state's size " + std::to_string(in.previous->size) +
            " lies among the entries the node declared lost (" + std::to_string(gap.first) + "-" +
            std::to_string(gap.declared_at - 1) + ", its EVENT_LOG_GAP at entry " +
            std::to_string(gap.declared_at) + ", log earlier named " + gap.previous_origin +
            "): what was audited then cannot be shown to be part of this log; entries 0-" +
            std::to_string(gap.first == 0 ? 0 : gap.first - 1) +
            " are as before. Audit afresh (without the state) to accept the declared loss";
      }
    }
  }
  if (tree.size() != cp->size) {
    fail(-1, "",
         "the checkpoint covers " + std::to_string(cp->size) + " entries, the log served " +
             std::to_string(tree.size()));
  } else if (tree.Root() != cp->root_hash) {
    fail(-1, "", "the entries do not hash to the checkpoint's root");
  }
  report.cases = cases.size();
  for (const auto& case_id : candidates) {
    if (Continuing(cases.at(case_id), node_id)) report.continuing_cases.push_back(case_id);
  }
  std::sort(report.continuing_cases.begin(), report.continuing_cases.end());
  if (in.case_events) {
    if (manifest == nullptr) {
      return Status::InvalidArgument("checking cross-node chains needs the federation manifest",
                                     "manifest");
    }
    for (const auto& case_id : report.continuing_cases) {
      auto envelopes = in.case_events(case_id);
      if (!envelopes.ok()) {
        fail(-1, case_id, "the case's events: " + envelopes.status().message());
        continue;
      }
      if (CheckCrossNodeChain(verifier->name, node_id, cp->size, case_id, cases.at(case_id),
                              *envelopes, *manifest, &report)) {
        ++report.chains_verified;
      }
    }
  }
  if (in.tiles) {
    for (auto& f : level0_failures) report.failures.push_back(std::move(f));
    CheckTiles(in, verifier->name, 1, std::move(tile_roots), &report);
  }
  return report;
}

}  // namespace lapor::audit
