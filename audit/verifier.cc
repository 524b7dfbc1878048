#include "audit/verifier.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "federation/manifest.h"
#include "lapor/v1/event.pb.h"
#include "node/case_service.h"
#include "node/lifecycle.h"

namespace lapor::audit {
namespace {

// Entries are fetched and checked in windows so memory stays bounded on large logs.
constexpr uint64_t kWindow = 1 << 16;

struct Checked {
  bool signed_ok = false;
  v1::Event event;
  std::string hash;  // SHA-256 of the envelope: the event hash its successor chains to
  std::string leaf;  // RFC 6962 leaf hash
  std::string error;
};

// Empty if one of the envelope's signatures is by an acceptable key, else why none is. Without a
// manifest the acceptable key is the checkpoint's; with one, a key the author node (read from the
// payload, not yet trusted) held at the event's time.
std::string SignatureProblem(const v1::Envelope& env, const std::string& pae,
                             const std::string& public_key, const std::string& keyid,
                             const v1::Manifest* manifest) {
  if (manifest == nullptr) {
    for (const auto& sig : env.signatures()) {
      if (sig.keyid() == keyid && crypto::VerifySignature(public_key, pae, sig.sig())) return "";
    }
    return "no valid signature by the node's key " + keyid;
  }
  v1::Event claimed;
  if (!claimed.ParseFromString(env.payload())) return "signed payload is not an event";
  const v1::Member* member = federation::FindMember(*manifest, claimed.node_id());
  if (member == nullptr) return "node '" + claimed.node_id() + "' is not a federation member";
  std::string retired;
  for (const auto& key : member->keys()) {
    for (const auto& sig : env.signatures()) {
      if (!crypto::VerifySignature(key.public_key(), pae, sig.sig())) continue;
      if (federation::KeyValidAt(*member, key.public_key(), claimed.time_ms())) return "";
      retired = "signed by key " + crypto::KeyIdOf(key.public_key()) + " of node " +
                claimed.node_id() + ", which is not valid at " + std::to_string(claimed.time_ms()) +
                " (valid from " + std::to_string(key.valid_from_ms()) +
                (key.valid_until_ms() ? " until " + std::to_string(key.valid_until_ms()) : "") +
                ")";
    }
  }
  return retired.empty() ? "no valid signature by a key of node " + claimed.node_id() : retired;
}

// What the replay of this log knows of one case.
struct CaseTrack {
  v1::CaseState state;          // the replay of the case's links in this log, while they connect
  bool submitted_here = false;  // the submission is in this log (and was replayed)
  // A link of this log follows links that are not in it (or the case's first event here is not
  // its submission): the case continues in other nodes' logs and `state` stops before that link.
  bool elsewhere = false;
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
  return t.elsewhere || (t.state.event_count() > 0 && NextLinkMayBeForeign(t.state, self));
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
    if (!env.ParseFromString(bytes) || env.payload_type() != node::kEventPayloadType ||
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
      const std::string pae = crypto::PreAuthEncoding(env.payload_type(), env.payload());
      std::string problem = SignatureProblem(env, pae, "", "", &manifest);
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
    if (!node::IsChainEvent(ev.type())) {
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
    Status s = node::ApplyEvent(ev, links[i].hash, &state);
    if (!s.ok()) {
      fail(ev.node_id(), static_cast<int64_t>(ev.seq()), "event " + name(ev) + ": " + s.message());
      break;  // the links after it follow a state that was refused
    }
  }
  return report->failures.size() == failures_before;
}

// Compares every tile the tree of leaves.size() leaves has with the served one, level by level
// (tile level L holds the tree's nodes at height 8L).
using TileBatch = std::vector<std::pair<uint64_t, Result<std::string>>>;

void CheckTiles(const AuditInput& in, const std::string& origin, std::vector<std::string> level,
                std::map<uint64_t, Result<std::string>> prefetched_level0, AuditReport* report) {
  for (uint32_t tile_level = 0; !level.empty(); ++tile_level) {
    const uint64_t count = level.size();
    for (uint64_t index = 0; index * 256 < count; ++index) {
      const uint64_t width = std::min<uint64_t>(256, count - index * 256);
      auto pre = tile_level == 0 ? prefetched_level0.find(index) : prefetched_level0.end();
      auto served =
          pre != prefetched_level0.end()
              ? std::move(pre->second)
              : in.tiles(tile_level, index, width == 256 ? 0 : static_cast<uint32_t>(width));
      std::string expected;
      for (uint64_t i = 0; i < width; ++i) expected += level[index * 256 + i];
      const std::string where = "tile " + std::to_string(tile_level) + "/" +
                                crypto::EncodeTileIndex(index) +
                                (width == 256 ? "" : ".p/" + std::to_string(width));
      if (!served.ok()) {
        report->failures.push_back({origin, -1, "", where + ": " + served.status().message(), ""});
      } else if (*served != expected) {
        int64_t first_bad = -1;
        for (uint64_t i = 0; i < width && first_bad < 0; ++i) {
          if (served->compare(i * 32, 32, expected, i * 32, 32) != 0)
            first_bad = static_cast<int64_t>(i);
        }
        report->failures.push_back(
            {origin, -1, "",
             where + " differs from the tree recomputed from the entries" +
                 (first_bad >= 0 ? " (hash " + std::to_string(first_bad) + ")" : " (length)"),
             ""});
      }
    }
    // The next tile level: roots of each full run of 256 nodes (height + 8).
    std::vector<std::string> up;
    for (uint64_t i = 0; (i + 1) * 256 <= count; ++i) {
      std::vector<std::string> cur(level.begin() + i * 256, level.begin() + (i + 1) * 256);
      while (cur.size() > 1) {
        std::vector<std::string> parent(cur.size() / 2);
        for (size_t j = 0; j < parent.size(); ++j)
          parent[j] = crypto::NodeHash(cur[2 * j], cur[2 * j + 1]);
        cur = std::move(parent);
      }
      up.push_back(std::move(cur[0]));
    }
    level = std::move(up);
  }
}

}  // namespace

Result<AuditReport> VerifyLog(const AuditInput& in) {
  crypto::Init();
  auto verifier = crypto::NoteVerifier::Parse(in.vkey);
  if (!verifier.ok())
    return Status::InvalidArgument("bad verifier key: " + verifier.status().message(), "vkey");
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
  const std::string& public_key = verifier->public_key;
  const std::string keyid = crypto::KeyIdOf(public_key);
  crypto::CompactRange tree;
  std::unordered_map<std::string, CaseTrack> cases;
  std::string node_id;
  std::vector<std::string> leaves;  // kept only to check the served hash tiles

  // Three stages run at once: fetching window k+2, checking the signatures of window k+1 on
  // `threads` threads, and replaying window k (tree, sequence, chains) in log order here.
  struct Window {
    uint64_t from = 0;
    std::vector<std::string> entries;
    std::vector<Checked> checked;
  };
  auto fetch = [&](uint64_t from) {
    return std::async(std::launch::async, [&in, from, size = cp->size] {
      return in.entries(from, std::min(kWindow, size - from));
    });
  };
  const v1::Manifest* manifest = in.manifest ? &*in.manifest : nullptr;
  auto check = [&](Window w) {
    return std::async(std::launch::async, [&, w = std::move(w)]() mutable {
      const uint64_t count = w.entries.size();
      w.checked.resize(count);
      std::vector<std::thread> workers;
      // Small chunks handed out on demand keep every thread busy until the window is done.
      std::atomic<uint64_t> next_chunk{0};
      constexpr uint64_t kChunk = 256;
      for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&w, &public_key, &keyid, &next_chunk, count, manifest] {
          for (uint64_t b; (b = next_chunk.fetch_add(kChunk)) < count;) {
            const uint64_t e = std::min(count, b + kChunk);
            for (uint64_t i = b; i < e; ++i) {
              Checked& c = w.checked[i];
              const std::string& bytes = w.entries[i];
              c.hash = crypto::Sha256(bytes);
              c.leaf = crypto::LeafHash(bytes);
              v1::Envelope env;
              if (!env.ParseFromString(bytes)) {
                c.error = "entry is not an event envelope";
                continue;
              }
              if (env.payload_type() != node::kEventPayloadType) {
                c.error = "unexpected payload type '" + env.payload_type() + "'";
                continue;
              }
              const std::string pae = crypto::PreAuthEncoding(env.payload_type(), env.payload());
              c.error = SignatureProblem(env, pae, public_key, keyid, manifest);
              if (!c.error.empty()) continue;
              c.signed_ok = true;
              if (!c.event.ParseFromString(env.payload()))
                c.error = "signed payload is not an event";
            }
          }
        });
      }
      for (auto& worker : workers) worker.join();
      w.entries.clear();  // only the hashes and parsed events are needed from here on
      return w;
    });
  };
  auto replay = [&](Window& w) {
    for (uint64_t i = 0; i < w.checked.size(); ++i) {
      const uint64_t index = w.from + i;
      Checked& c = w.checked[i];
      tree.Append(c.leaf);
      if (in.tiles) leaves.push_back(c.leaf);
      if (in.previous && tree.size() == in.previous->size && tree.Root() != in.previous->root) {
        fail(-1, "",
             "not append-only: the first " + std::to_string(in.previous->size) +
                 " entries no longer have the root seen before");
      }
      if (!c.error.empty()) {
        fail(static_cast<int64_t>(index), c.event.case_id(), c.error);
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
      CaseTrack& t = cases[ev.case_id()];
      auto record = [&] { t.recorded[index] = {c.hash, node::IsChainEvent(ev.type())}; };
      if (!node::IsChainEvent(ev.type())) {
        // A citizen message the origin relays to the owner: not a link, not replayed.
        if (t.state.event_count() == 0) t.elsewhere = true;
        if (t.elsewhere || t.state.parties_size() > 1) record();
        continue;
      }
      // A link that follows links not in this log: legitimate only where another node may author
      // the case's next link (or the case began elsewhere); its chain is judged as a whole, with
      // the other nodes' events, by the cross-node check.
      if (!t.elsewhere && ev.type() != v1::EVENT_SUBMITTED &&
          (t.state.event_count() == 0 ||
           (ev.prev_hash() != t.state.last_hash() && NextLinkMayBeForeign(t.state, node_id)))) {
        t.elsewhere = true;
      }
      if (t.elsewhere) {
        record();
        continue;
      }
      Status s = node::ApplyEvent(ev, c.hash, &t.state);
      if (!s.ok()) {
        fail(static_cast<int64_t>(index), ev.case_id(), "case history: " + s.message());
        continue;
      }
      if (ev.type() == v1::EVENT_SUBMITTED) t.submitted_here = true;
      if (t.state.parties_size() > 1) record();
    }
  };

  // Level-0 hash tiles of each window are fetched alongside its entries, off the critical path.
  auto fetch_tiles = [&](uint64_t from) {
    return std::async(std::launch::async, [&in, from, size = cp->size] {
      TileBatch out;
      if (!in.tiles) return out;
      const uint64_t end = std::min(size, from + kWindow);
      for (uint64_t index = from / 256; index * 256 < end; ++index) {
        const uint64_t width = std::min<uint64_t>(256, size - index * 256);
        out.emplace_back(index,
                         in.tiles(0, index, width == 256 ? 0 : static_cast<uint32_t>(width)));
      }
      return out;
    });
  };
  std::map<uint64_t, Result<std::string>> level0_tiles;
  std::future<Result<std::vector<std::string>>> fetched;
  std::future<TileBatch> fetched_tiles;
  if (cp->size > 0) {
    fetched = fetch(0);
    fetched_tiles = fetch_tiles(0);
  }
  std::optional<Window> ready;  // checked, waiting to be replayed
  for (uint64_t from = 0; from < cp->size; from += kWindow) {
    const uint64_t count = std::min(kWindow, cp->size - from);
    auto entries = fetched.get();
    for (auto& [index, tile] : fetched_tiles.get()) level0_tiles.emplace(index, std::move(tile));
    if (from + kWindow < cp->size) {
      fetched = fetch(from + kWindow);
      fetched_tiles = fetch_tiles(from + kWindow);
    }
    if (!entries.ok()) return entries.status();
    if (entries->size() != count) {
      return Status::Corruption("expected " + std::to_string(count) + " entries from " +
                                std::to_string(from) + ", got " + std::to_string(entries->size()));
    }
    auto checking = check(Window{from, std::move(*entries), {}});
    if (ready) replay(*ready);
    ready = checking.get();
  }
  if (ready) replay(*ready);
  if (tree.size() == cp->size && tree.Root() != cp->root_hash) {
    fail(-1, "", "the entries do not hash to the checkpoint's root");
  }
  report.cases = cases.size();
  for (const auto& [case_id, track] : cases) {
    if (Continuing(track, node_id)) report.continuing_cases.push_back(case_id);
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
    CheckTiles(in, verifier->name, std::move(leaves), std::move(level0_tiles), &report);
  }
  return report;
}

}  // namespace lapor::audit
