#include "audit/verifier.h"

#include <algorithm>
#include <thread>
#include <unordered_map>

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
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
  std::string hash;
  std::string error;
};

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
    report.failures.push_back({verifier->name, index, std::move(case_id), std::move(reason)});
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
  std::unordered_map<std::string, v1::CaseState> cases;
  std::string node_id;

  for (uint64_t from = 0; from < cp->size; from += kWindow) {
    const uint64_t count = std::min(kWindow, cp->size - from);
    auto entries = in.entries(from, count);
    if (!entries.ok()) return entries.status();
    if (entries->size() != count) {
      return Status::Corruption("expected " + std::to_string(count) + " entries from " +
                                std::to_string(from) + ", got " + std::to_string(entries->size()));
    }
    // Signatures in parallel (the expensive part), one contiguous slice per thread.
    std::vector<Checked> checked(count);
    std::vector<std::thread> workers;
    const uint64_t slice = (count + threads - 1) / threads;
    for (int t = 0; t < threads; ++t) {
      const uint64_t b = t * slice, e = std::min(count, b + slice);
      if (b >= e) break;
      workers.emplace_back([&, b, e] {
        for (uint64_t i = b; i < e; ++i) {
          Checked& c = checked[i];
          const std::string& bytes = (*entries)[i];
          c.hash = crypto::Sha256(bytes);
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
          for (const auto& sig : env.signatures()) {
            if (sig.keyid() == keyid && crypto::VerifySignature(public_key, pae, sig.sig())) {
              c.signed_ok = true;
            }
          }
          if (!c.signed_ok) {
            c.error = "no valid signature by the node's key " + keyid;
            continue;
          }
          if (!c.event.ParseFromString(env.payload())) c.error = "signed payload is not an event";
        }
      });
    }
    for (auto& w : workers) w.join();

    // Tree, sequence, chains and replay: in log order.
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t index = from + i;
      tree.Append(crypto::LeafHash((*entries)[i]));
      if (in.previous && tree.size() == in.previous->size && tree.Root() != in.previous->root) {
        fail(-1, "",
             "not append-only: the first " + std::to_string(in.previous->size) +
                 " entries no longer have the root seen before");
      }
      Checked& c = checked[i];
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
      auto& state = cases[ev.case_id()];
      Status s = node::ApplyEvent(ev, c.hash, &state);
      if (!s.ok()) fail(static_cast<int64_t>(index), ev.case_id(), "case history: " + s.message());
    }
  }
  if (tree.size() == cp->size && tree.Root() != cp->root_hash) {
    fail(-1, "", "the entries do not hash to the checkpoint's root");
  }
  report.cases = cases.size();
  return report;
}

}  // namespace lapor::audit
