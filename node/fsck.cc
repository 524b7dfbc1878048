#include "node/fsck.h"

#include <google/protobuf/util/message_differencer.h>

#include <map>
#include <optional>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "node/case_service.h"
#include "protocol/confidential.h"
#include "protocol/directory.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"

namespace lapor::node {
namespace {

struct Replayed {
  v1::CaseState state;
  bool broken = false;  // a chain or transition error was reported; later events are skipped
  std::string reporter_commitment, content_commitment;
  std::map<uint64_t, std::string> note_commitments;  // seq -> commitment
  // This node's verified events of the case: (hash, event).
  std::vector<std::pair<std::string, v1::Event>> own;
  std::vector<std::pair<uint64_t, uint64_t>> own_refs;  // (seq, stored case key)
};

// The manifest the node holds (stored only after its hub signature was checked), if any.
std::optional<v1::Manifest> StoredManifest(storage::Store* store) {
  auto blob = store->GetMeta(storage::kManifestMetaKey);
  if (!blob.ok() || !blob->has_value()) return std::nullopt;
  return protocol::ParseStoredManifest(**blob);
}

}  // namespace

Result<FsckReport> Fsck(storage::Store* store, const std::string& node_id,
                        const std::vector<std::string>& public_keys, const std::string& sealing_key,
                        const std::string& origin) {
  if (public_keys.empty()) return Status::InvalidArgument("fsck needs the node's key");
  FsckReport report;
  std::optional<storage::CheckpointRow> checkpoint;
  if (!origin.empty()) {
    auto latest = store->LatestCheckpoint();
    if (!latest.ok()) return latest.status();
    checkpoint = *latest;
  }
  crypto::CompactRange tree;
  std::string root_at_checkpoint = checkpoint && checkpoint->size == 0 ? crypto::EmptyRoot() : "";
  std::vector<storage::TreeNodeRow> recomputed_nodes;
  std::string tile_leaves;  // the leaf hashes of the tile being recomputed
  std::map<std::string, Replayed> cases;
  uint64_t expected_seq = 0;
  std::optional<uint64_t> lost_from;  // the first of the lost seqs' placeholders being read
  std::vector<std::string> keyids;
  for (const auto& k : public_keys) keyids.push_back(crypto::KeyIdOf(k));
  auto signed_by_node = [&](const v1::Envelope& env) {
    for (size_t i = 0; i < public_keys.size(); ++i) {
      if (protocol::SignedBy(env, public_keys[i], keyids[i])) return true;
    }
    return false;
  };
  auto problem = [&](const std::string& what) { report.problems.push_back(what); };
  // A full tile's stored leaf hashes must be the recomputed ones (tiles completed before schema 5
  // were never stored).
  auto check_leaf_tile = [&](uint64_t index, const std::string& hashes) {
    auto stored = store->LeafTile(index);
    if (!stored.ok()) {
      problem("leaf tile " + std::to_string(index) + ": " + stored.status().ToString());
    } else if (stored->has_value() && **stored != hashes) {
      problem("leaf tile " + std::to_string(index) +
              ": the stored leaf hashes differ from the ones recomputed over the envelopes");
    }
  };

  Status scan = store->ScanEvents(0, [&](const storage::StoredEvent& e) {
    ++report.events;
    const std::string at = "event seq " + std::to_string(e.seq) + ": ";
    if (e.seq != expected_seq) {
      problem(at + "sequence gap: expected seq " + std::to_string(expected_seq));
    }
    expected_seq = e.seq + 1;
    if (crypto::Sha256(e.envelope) != e.hash) problem(at + "stored hash does not match envelope");
    if (checkpoint && tree.size() < checkpoint->size) {
      Status appended = tree.Append(
          crypto::LeafHash(e.envelope),
          [&](uint32_t level, uint64_t index, const std::string& hash) {
            crypto::KeepForTiles(
                level, index, hash, &tile_leaves,
                [&](uint64_t tile, std::string* hashes) { check_leaf_tile(tile, *hashes); },
                [&](uint32_t l, uint64_t i, const std::string& h) {
                  recomputed_nodes.push_back({l, i, h});
                });
          });
      if (!appended.ok()) problem(at + "tree: " + appended.message());
      if (tree.size() == checkpoint->size) root_at_checkpoint = tree.Root();
    }
    // Lost seqs (`lapor-node log continue`): placeholders, then the signed event declaring them.
    if (auto lost = protocol::ParseLostEntry(e.envelope)) {
      if (*lost != e.seq)
        problem(at + "the lost-event placeholder names seq " + std::to_string(*lost));
      if (!lost_from) lost_from = e.seq;
      return true;
    }
    v1::Envelope env;
    v1::Event ev;
    const bool env_parsed = env.ParseFromString(e.envelope);
    const bool ev_parsed = env_parsed && ev.ParseFromString(env.payload());
    if (lost_from && !(ev_parsed && ev.type() == v1::EVENT_LOG_GAP)) {
      problem(at + "follows placeholders of lost seqs from " + std::to_string(*lost_from) +
              " that no EVENT_LOG_GAP declares");
      lost_from.reset();
    }
    if (!env_parsed) {
      problem(at + "envelope does not parse");
      return true;
    }
    if (env.payload_type() != protocol::kEventPayloadType) problem(at + "unexpected payload type");
    if (!signed_by_node(env)) {
      problem(at + "no valid signature by this node's key " + keyids[0] +
              (keyids.size() > 1 ? " or an earlier one" : ""));
      return true;  // nothing unsigned is replayed
    }
    if (!ev_parsed) {
      problem(at + "event payload does not parse");
      return true;
    }
    if (ev.seq() != e.seq) problem(at + "signed seq " + std::to_string(ev.seq()) + " differs");
    if (ev.node_id() != node_id) problem(at + "signed by node '" + ev.node_id() + "'");
    if (ev.type() == v1::EVENT_LOG_GAP) {
      if (!lost_from || ev.log_gap().first_lost() != *lost_from || !ev.case_id().empty()) {
        problem(at + "declares seq " + std::to_string(ev.log_gap().first_lost()) + "-" +
                std::to_string(e.seq == 0 ? 0 : e.seq - 1) +
                " lost, but the placeholders before it " +
                (lost_from ? "start at seq " + std::to_string(*lost_from) : "are missing"));
      }
      lost_from.reset();
      ++report.lost_ranges;
      return true;  // not a case event
    }
    auto& c = cases[ev.case_id()];
    c.own.emplace_back(e.hash, ev);
    c.own_refs.emplace_back(e.seq, e.case_ref);
    if (ev.type() == v1::EVENT_SUBMITTED) {
      c.reporter_commitment = ev.submission().reporter_commitment();
      c.content_commitment = ev.submission().content_commitment();
    } else if (!ev.action().note_commitment().empty()) {
      c.note_commitments[e.seq] = ev.action().note_commitment();
    }
    return true;
  });
  LAPOR_RETURN_IF_ERROR(scan);
  if (lost_from) {
    problem("event seq " + std::to_string(*lost_from) +
            " and after: placeholders of lost seqs that no EVENT_LOG_GAP declares");
  }

  // Each case's chain, across its authors, replayed in chain order and compared with the stored
  // state. Events of other nodes are checked against the manifest's keys.
  const std::optional<v1::Manifest> manifest = StoredManifest(store);
  std::map<std::string, bool> seen;
  Status cs = store->ScanCases([&](const v1::CaseState& stored) {
    ++report.cases;
    seen[stored.case_id()] = true;
    auto& c = cases[stored.case_id()];
    const uint64_t ref = CaseRef(stored);
    std::multimap<std::string, std::pair<std::string, v1::Event>> by_prev;
    for (const auto& [hash, ev] : c.own) {
      if (protocol::IsChainEvent(ev.type()))
        by_prev.emplace(ev.prev_hash(), std::make_pair(hash, ev));
    }
    for (const auto& [seq, case_ref] : c.own_refs) {
      if (case_ref != ref) {
        problem("event seq " + std::to_string(seq) + ": stored under the wrong case");
      }
    }
    auto foreign = store->ForeignCaseEvents(ref);
    if (!foreign.ok()) {
      problem("case " + stored.case_id() + ": cannot read other nodes' events");
      return true;
    }
    for (const auto& f : *foreign) {
      const std::string at = "case " + stored.case_id() + ": event " + f.author + "/" +
                             std::to_string(f.author_seq) + ": ";
      v1::Envelope env;
      v1::Event ev;
      if (crypto::Sha256(f.envelope) != f.hash || !env.ParseFromString(f.envelope) ||
          !ev.ParseFromString(env.payload())) {
        problem(at + "stored envelope does not parse or match its hash");
        continue;
      }
      if (manifest) {
        Status sig = protocol::VerifyEventEnvelope(*manifest, env, ev);
        if (!sig.ok()) problem(at + sig.message());
      }
      if (protocol::IsChainEvent(ev.type()))
        by_prev.emplace(ev.prev_hash(), std::make_pair(f.hash, ev));
    }
    v1::CaseState replay;
    std::string at_hash;
    size_t applied = 0;
    for (auto it = by_prev.find(at_hash); it != by_prev.end(); it = by_prev.find(at_hash)) {
      if (by_prev.count(at_hash) > 1) {
        problem("case " + stored.case_id() + ": the chain forks after " +
                crypto::HexEncode(at_hash).substr(0, 16));
        c.broken = true;
        break;
      }
      Status s = protocol::ApplyEvent(it->second.second, it->second.first, &replay);
      if (!s.ok()) {
        problem("case " + stored.case_id() + ": event " + it->second.second.node_id() + "/" +
                std::to_string(it->second.second.seq()) + ": replay refused: " + s.ToString());
        c.broken = true;
        break;
      }
      at_hash = it->second.first;
      if (++applied > by_prev.size()) break;
    }
    if (c.broken) return true;
    if (applied != by_prev.size()) {
      problem("case " + stored.case_id() + ": " + std::to_string(by_prev.size() - applied) +
              " event(s) do not continue the case's chain");
      c.broken = true;
      return true;
    }
    c.state = replay;
    v1::CaseState compared = stored;
    compared.clear_local_ref();  // this node's storage key, not part of the replayed state
    if (compared.confidential()) {
      // This node folded its own events with their content; the replay sees them sealed.
      protocol::ClearContent(&compared);
      protocol::ClearContent(&replay);
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    if (!differ.Compare(replay, compared)) {
      problem("case " + stored.case_id() + ": stored state differs from replay: " + diff);
    }
    c.state.set_local_ref(stored.local_ref());
    return true;
  });
  LAPOR_RETURN_IF_ERROR(cs);
  for (const auto& [id, c] : cases) {
    if (!seen.count(id)) problem("case " + id + ": events without a stored state");
  }

  if (checkpoint) {
    report.checkpoint_size = checkpoint->size;
    const std::string at = "checkpoint " + std::to_string(checkpoint->size) + ": ";
    auto note = crypto::SignedNote::Parse(checkpoint->note);
    bool note_signed = false;
    for (const auto& k : public_keys) {
      auto verifier = crypto::NoteVerifier::FromPublicKey(origin, k);
      note_signed =
          note_signed || (note.ok() && verifier.ok() && crypto::VerifyNote(*note, *verifier).ok());
    }
    if (!note_signed) {
      problem(at + "note is not signed by this node's key as " + origin);
    } else {
      auto body = crypto::Checkpoint::ParseBody(note->text);
      if (!body.ok() || body->origin != origin || body->size != checkpoint->size ||
          body->root_hash != checkpoint->root) {
        problem(at + "signed body does not match the stored checkpoint");
      }
    }
    if (root_at_checkpoint.empty()) {
      problem(at + "covers more events than the log holds");
    } else if (root_at_checkpoint != checkpoint->root) {
      problem(at + "root differs from the tree recomputed over the stored envelopes");
    }
    for (const auto& n : recomputed_nodes) {
      auto stored = store->TreeNodes(n.level, n.index, 1);
      if (!stored.ok()) return stored.status();
      if (stored->size() != 1 || (*stored)[0] != n.hash) {
        problem(at + "stored tree node level " + std::to_string(n.level) + " index " +
                std::to_string(n.index) + " differs from the recomputed one");
      }
    }
  }

  // Sealed data must still be what the signed events committed to.
  auto check_sealed = [&](const std::string& case_id, uint64_t ref, const std::string& kind,
                          std::string_view tag, const std::string& commitment) {
    auto blob = store->GetSealed(ref, kind);
    if (!blob.ok()) {
      problem("case " + case_id + ": cannot read sealed " + kind + ": " + blob.status().ToString());
      return;
    }
    if (!blob->has_value()) return;  // erased: the commitment stays, the data is gone
    ++report.sealed_checked;
    auto plain = crypto::SecretboxOpen(sealing_key, **blob);
    if (!plain.ok()) {
      problem("case " + case_id + ": sealed " + kind + " fails to decrypt");
    } else if (Commitment(tag, *plain) != commitment) {
      problem("case " + case_id + ": sealed " + kind + " does not match its commitment");
    }
  };
  for (const auto& [id, c] : cases) {
    if (c.broken || c.state.event_count() == 0) continue;
    const uint64_t ref = CaseRef(c.state);
    if (!c.reporter_commitment.empty()) {
      check_sealed(id, ref, "reporter", kReporterCommitmentTag, c.reporter_commitment);
    }
    if (!c.content_commitment.empty()) {
      check_sealed(id, ref, "content", kContentCommitmentTag, c.content_commitment);
    }
    for (const auto& [seq, commitment] : c.note_commitments) {
      check_sealed(id, ref, "note:" + std::to_string(seq), kNoteCommitmentTag, commitment);
    }
  }
  return report;
}

}  // namespace lapor::node
