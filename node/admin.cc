#include "node/admin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "lapor/v1/event.pb.h"
#include "node/case_figures.h"
#include "node/case_service.h"
#include "node/data_dir.h"
#include "node/fsck.h"
#include "protocol/directory.h"
#include "protocol/envelope.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"
#include "protocol/regions.h"
#include "protocol/tracking_id.h"
#include "storage/backup.h"
#include "storage/store.h"
#include "storage/tree_log.h"

namespace lapor::node {
namespace {

struct Opened {
  NodeConfig config;
  std::shared_ptr<const crypto::SigningKey> key;
  std::vector<std::string> public_keys;  // the key's, then the earlier keys' (key activate)
  std::string sealing_key;
  std::unique_ptr<storage::Store> store;
};

Result<Opened> OpenNode(const std::string& dir) {
  DataDir data(dir);
  Opened o;
  auto config = data.LoadConfig();
  if (!config.ok()) return config.status();
  o.config = *config;
  auto key = data.LoadSigningKey();
  if (!key.ok()) return key.status();
  o.key = std::make_shared<const crypto::SigningKey>(std::move(*key));
  o.public_keys.push_back(o.key->public_key());
  auto retired = data.RetiredSigningKeys();
  if (!retired.ok()) return retired.status();
  for (const auto& k : *retired) o.public_keys.push_back(k.public_key());
  auto sealing = data.LoadSealingKey();
  if (!sealing.ok()) return sealing.status();
  o.sealing_key = *sealing;
  storage::StoreOptions store_options;
  store_options.commit_gather_writes = o.config.commit_gather_writes;
  store_options.commit_gather_us = o.config.commit_gather_us;
  // A command opens the store briefly, perhaps beside the running node: the node indexes.
  store_options.background_work = false;
  auto store = storage::Store::Open(data.DatabasePath(), store_options);
  if (!store.ok()) return store.status();
  o.store = std::move(*store);
  // The cases' statistics figures, if this release has not filled them in yet: only while no
  // node runs on the folder (a running node of this release did it at its start; one of an older
  // release must not have its states written over), holding the folder's lock meanwhile.
  if (auto done = o.store->GetMeta(kCaseFiguresMetaKey);
      done.ok() && !(done->has_value() && **done == "1")) {
    if (auto lock = LockDataDir(dir); lock.ok()) {
      auto b = BackfillCaseFigures(o.store.get(), o.config.node_id);
      ::close(*lock);
      if (!b.ok()) return b.status();
    }
  }
  return o;
}

// Operator tokens: printed once, only their SHA-256 is stored.
std::string NewOperatorToken() { return "lpt_" + crypto::Base32Encode(crypto::RandomBytes(20)); }

int64_t ExpiryFromDays(int days) {
  return days > 0 ? Clock::Real()->NowMs() + int64_t{days} * 86400000 : 0;
}

Result<std::unique_ptr<storage::Store>> OpenStoreOnly(const std::string& dir) {
  DataDir data(dir);
  if (auto c = data.LoadConfig(); !c.ok()) return c.status();
  storage::StoreOptions store_options;
  store_options.background_work = false;  // as OpenNode
  return storage::Store::Open(data.DatabasePath(), store_options);
}

// Empties the write-ahead log, retrying for about 5 s while a running node keeps it busy.
Status EmptyWal(storage::Store* store) {
  Status wal = store->TruncateWal();
  for (int i = 0; i < 20 && wal.code() == Status::Code::kUnavailable; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    wal = store->TruncateWal();
  }
  return wal;
}

}  // namespace

int Fail(const Status& s) {
  std::fprintf(stderr, "lapor-node: %s\n", s.ToString().c_str());
  return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
}

int Init(const std::string& dir, const std::string& jurisdiction, const std::string& listen,
         const std::string& origin, const std::string& hub_key, const std::string& hub_url) {
  if (!hub_key.empty()) {
    auto raw = crypto::HexDecode(hub_key);
    if (!raw || raw->size() != crypto::kPublicKeySize) {
      return Fail(Status::InvalidArgument("the hub key must be 64 hex characters", "--hub-key"));
    }
  }
  if (!hub_url.empty() && hub_url.rfind("http://", 0) != 0 && hub_url.rfind("https://", 0) != 0) {
    return Fail(
        Status::InvalidArgument("the hub URL must start with http:// or https://", "--hub-url"));
  }
  if (!protocol::IsValidJurisdiction(jurisdiction)) {
    return Fail(Status::InvalidArgument("unknown jurisdiction code '" + jurisdiction +
                                            "': use 00 (national hub), a province (e.g. 32) or a "
                                            "regency/city (e.g. 32.04)",
                                        "--jurisdiction"));
  }
  NodeConfig c;
  c.node_id = jurisdiction;
  c.jurisdiction = jurisdiction;
  c.listen = listen;
  c.origin = origin.empty() ? "lapor.go.id/node/" + jurisdiction : origin;
  c.hub_key = hub_key;
  c.hub_url = hub_url;
  std::string host;
  int port = 0;
  Status s = ParseListen(listen, &host, &port, "--listen");
  if (!s.ok()) return Fail(s);
  auto key = DataDir(dir).Init(c);
  if (!key.ok()) return Fail(key.status());
  // Create the database (and run migrations) now so a bad folder fails at init, not at run.
  auto store = storage::Store::Open(DataDir(dir).DatabasePath());
  if (!store.ok()) return Fail(store.status());
  const auto* region = protocol::FindRegion(jurisdiction);
  std::printf("initialised node %s (%s) in %s\n", c.node_id.c_str(),
              region ? region->name.c_str() : "national hub", dir.c_str());
  std::printf("public key: %s\n", crypto::HexEncode(key->public_key()).c_str());
  return 0;
}

int AddOperator(const std::string& dir, const std::string& name, const std::string& role,
                const std::string& agency, int expires_in_days) {
  if (role != "admin" && role != "liaison" && role != "auditor") {
    return Fail(Status::InvalidArgument("role must be admin, liaison or auditor", "--role"));
  }
  if (role == "liaison" && agency.empty()) {
    return Fail(Status::InvalidArgument("a liaison needs --agency", "--agency"));
  }
  if (role != "liaison" && !agency.empty()) {
    return Fail(Status::InvalidArgument("only liaisons belong to an agency", "--agency"));
  }
  // The same rule as the API's: an agency the API refuses would leave a liaison who never acts.
  if (Status s = CheckAgencyName(agency, "--agency"); !s.ok()) return Fail(s);
  if (name.empty() || name.size() > 100) {
    return Fail(Status::InvalidArgument("name must have 1-100 characters", "--name"));
  }
  auto store = OpenStoreOnly(dir);
  if (!store.ok()) return Fail(store.status());
  std::string token = NewOperatorToken();
  storage::Operator op{0, name, role, agency};
  op.expires_ms = ExpiryFromDays(expires_in_days);
  auto id = (*store)->AddOperator(op, CaseService::HashToken(token));
  if (!id.ok()) return Fail(id.status());
  std::printf("operator %llu (%s) added. Token (shown once, only its hash is stored):\n%s\n",
              static_cast<unsigned long long>(*id), role.c_str(), token.c_str());
  return 0;
}

int ListOperators(const std::string& dir) {
  auto store = OpenStoreOnly(dir);
  if (!store.ok()) return Fail(store.status());
  auto ops = (*store)->ListOperators();
  if (!ops.ok()) return Fail(ops.status());
  const int64_t now = Clock::Real()->NowMs();
  std::printf("%-4s %-8s %-24s %-24s %s\n", "id", "role", "agency", "name", "state");
  for (const auto& op : *ops) {
    std::string state = op.removed_ms > 0                           ? "removed"
                        : op.expires_ms > 0 && op.expires_ms <= now ? "expired"
                                                                    : "active";
    if (state == "active" && op.expires_ms > 0) {
      state += " (expires in " + std::to_string((op.expires_ms - now) / 86400000) + " days)";
    }
    std::printf("%-4llu %-8s %-24s %-24s %s\n", static_cast<unsigned long long>(op.id),
                op.role.c_str(), op.agency.empty() ? "-" : op.agency.c_str(), op.name.c_str(),
                state.c_str());
  }
  return 0;
}

int RemoveOperator(const std::string& dir, uint64_t id) {
  auto store = OpenStoreOnly(dir);
  if (!store.ok()) return Fail(store.status());
  if (Status s = (*store)->RemoveOperator(id, Clock::Real()->NowMs()); !s.ok()) return Fail(s);
  std::printf("operator %llu removed: its token is refused from now on (no restart needed)\n",
              static_cast<unsigned long long>(id));
  return 0;
}

int RotateOperator(const std::string& dir, uint64_t id, int expires_in_days) {
  auto store = OpenStoreOnly(dir);
  if (!store.ok()) return Fail(store.status());
  std::string token = NewOperatorToken();
  // Without --expires-in-days the operator keeps the expiry it had.
  const int64_t expires_ms = expires_in_days < 0 ? -1 : ExpiryFromDays(expires_in_days);
  Status s = (*store)->RotateOperator(id, CaseService::HashToken(token), expires_ms,
                                      Clock::Real()->NowMs());
  if (!s.ok()) return Fail(s);
  std::printf(
      "operator %llu has a new token; the old one is refused from now on.\n"
      "New token (shown once, only its hash is stored):\n%s\n",
      static_cast<unsigned long long>(id), token.c_str());
  return 0;
}

int TruncateWal(const std::string& dir) {
  auto store = OpenStoreOnly(dir);
  if (!store.ok()) return Fail(store.status());
  if (Status wal = EmptyWal(store->get()); !wal.ok()) return Fail(wal);
  std::printf("the write-ahead log of %s was emptied into the database\n", dir.c_str());
  return 0;
}

// The log's verifier key (GET /log/vkey), or with `witness` the cosigner key the node witnesses
// with (GET /witness/vkey): both from the data folder, no node needs to run.
int PrintVkey(const std::string& dir, bool witness) {
  DataDir data(dir);
  auto config = data.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  auto key = data.LoadSigningKey();
  if (!key.ok()) return Fail(key.status());
  std::printf("%s\n", crypto::VerifierKeyString(
                          config->origin, key->public_key(),
                          witness ? crypto::kNoteSigCosignatureV1 : crypto::kNoteSigEd25519)
                          .c_str());
  return 0;
}

int RunFsck(const std::string& dir) {
  auto opened = OpenNode(dir);
  if (!opened.ok()) return Fail(opened.status());
  auto report = Fsck(opened->store.get(), opened->config.node_id, opened->public_keys,
                     opened->sealing_key, opened->config.origin);
  if (!report.ok()) return Fail(report.status());
  for (const auto& p : report->problems) std::printf("PROBLEM %s\n", p.c_str());
  std::printf(
      "fsck: %llu events, %llu cases, %llu sealed records, checkpoint %llu checked%s: %s\n",
      static_cast<unsigned long long>(report->events),
      static_cast<unsigned long long>(report->cases),
      static_cast<unsigned long long>(report->sealed_checked),
      static_cast<unsigned long long>(report->checkpoint_size),
      report->lost_ranges > 0
          ? (", " + std::to_string(report->lost_ranges) + " declared range(s) of lost seqs").c_str()
          : "",
      report->ok() ? "clean" : "PROBLEMS FOUND");
  return report->ok() ? 0 : 1;
}

int ExportAuditBundle(const std::string& dir, const std::string& out) {
  auto opened = OpenNode(dir);
  if (!opened.ok()) return Fail(opened.status());
  auto cp = opened->store->LatestCheckpoint();
  if (!cp.ok()) return Fail(cp.status());
  if (!cp->has_value()) {
    return Fail(Status::NotFound("no checkpoint yet: run the node once so it signs one"));
  }
  v1::AuditBundle bundle;
  // The key that signed the checkpoint: the node's, or an earlier one if the node has not run
  // since `key activate` (it signs the checkpoint again at start).
  std::string signer = opened->key->public_key();
  auto note = crypto::SignedNote::Parse((*cp)->note);
  for (const auto& k : opened->public_keys) {
    auto v = crypto::NoteVerifier::FromPublicKey(opened->config.origin, k);
    if (note.ok() && v.ok() && crypto::VerifyNote(*note, *v).ok()) {
      signer = k;
      break;
    }
  }
  bundle.set_vkey(crypto::VerifierKeyString(opened->config.origin, signer));
  bundle.set_checkpoint((*cp)->note);
  for (uint64_t at = 0; at < (*cp)->size;) {
    auto batch = opened->store->Envelopes(at, std::min<uint64_t>(65536, (*cp)->size - at));
    if (!batch.ok()) return Fail(batch.status());
    if (batch->empty()) return Fail(Status::Corruption("event " + std::to_string(at) + " missing"));
    for (auto& e : *batch) bundle.add_entries(std::move(e));
    at += batch->size();
  }
  // The hub-signed manifest the node holds (member keys), and the other nodes' events of every
  // case this node's log touches: an auditor checks cross-node chains from the bundle alone.
  auto manifest = opened->store->GetMeta(storage::kManifestMetaKey);
  if (!manifest.ok()) return Fail(manifest.status());
  if (manifest->has_value()) bundle.set_manifest(**manifest);
  std::vector<uint64_t> refs;
  Status scanned = opened->store->ScanCases([&](const v1::CaseState& s) {
    refs.push_back(CaseRef(s));
    return true;
  });
  if (!scanned.ok()) return Fail(scanned);
  for (uint64_t ref : refs) {
    auto foreign = opened->store->ForeignCaseEvents(ref);
    if (!foreign.ok()) return Fail(foreign.status());
    if (foreign->empty()) continue;
    if (ref >= storage::kForeignRefBase) {  // a case another node opened: touched by this log?
      auto own = opened->store->CaseEvents(ref);
      if (!own.ok()) return Fail(own.status());
      if (own->empty()) continue;
    }
    for (auto& f : *foreign) bundle.add_case_events(std::move(f.envelope));
  }
  // Written whole to a temporary name, then renamed: a reader never sees half a bundle.
  const std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !bundle.SerializeToOstream(&f)) {
      return Fail(Status::IOError("cannot write " + tmp));
    }
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    return Fail(Status::IOError("cannot rename " + tmp + " to " + out));
  }
  std::printf("audit bundle %s: %llu entries, checkpoint %llu, %llu other nodes' events%s\n",
              out.c_str(), static_cast<unsigned long long>(bundle.entries_size()),
              static_cast<unsigned long long>((*cp)->size),
              static_cast<unsigned long long>(bundle.case_events_size()),
              bundle.manifest().empty() ? "" : ", manifest");
  return 0;
}

// Hub only: edits the federation manifest and publishes the new version (signed, stored).
int EditManifest(const std::string& dir, const std::string& op, const std::string& jurisdiction,
                 const std::string& url, const std::string& key_hex, int overlap_hours,
                 const std::string& statement_b64, const std::string& confirmed_out_of_band) {
  auto opened = OpenNode(dir);
  if (!opened.ok()) return Fail(opened.status());
  if (opened->config.jurisdiction != protocol::kNationalHub) {
    return Fail(Status::PermissionDenied("only the national hub (00) publishes the manifest"));
  }
  const int64_t now = Clock::Real()->NowMs();
  const auto& hub = *opened->key;
  v1::Manifest m;
  auto held = opened->store->GetMeta(storage::kManifestMetaKey);
  if (!held.ok()) return Fail(held.status());
  if (held->has_value()) {
    auto current = protocol::OpenManifest(**held, hub.public_key());
    if (!current.ok()) return Fail(current.status());
    m = *current;
  } else {
    // The first manifest lists the hub itself.
    Status s = protocol::AddMember(&m, std::string(protocol::kNationalHub),
                                   "http://" + opened->config.listen, hub.public_key(), now);
    if (!s.ok()) return Fail(s);
  }
  std::string key;
  protocol::KeyVouch vouch;
  vouch.confirmed_out_of_band = confirmed_out_of_band;
  if (!statement_b64.empty()) {
    auto raw = crypto::Base64Decode(statement_b64);
    if (!raw) return Fail(Status::InvalidArgument("the statement must be base64", "--statement"));
    auto change = protocol::OpenKeyChange(*raw);
    if (!change.ok()) return Fail(change.status());
    vouch.statement = std::move(*raw);
    key = change->new_key();
  }
  if (op != "remove" && (statement_b64.empty() || !key_hex.empty())) {
    auto raw = crypto::HexDecode(key_hex);
    if (!raw) return Fail(Status::InvalidArgument("the key must be hex", "--key"));
    if (!key.empty() && *raw != key) {
      return Fail(Status::InvalidArgument("the statement names another new key", "--key"));
    }
    key = *raw;
  }
  Status s = op == "add"      ? protocol::AddMember(&m, jurisdiction, url, key, now)
             : op == "remove" ? protocol::RemoveMember(&m, jurisdiction, now)
                              : protocol::RotateKey(&m, jurisdiction, key, now,
                                                    int64_t{overlap_hours} * 3600 * 1000, vouch);
  if (!s.ok()) return Fail(s);
  if (op == "add" && !confirmed_out_of_band.empty()) {
    // A member added again with a new key: members that saw it removed want a vouch, as for a
    // key change (federation/manifest_client.cc).
    m.mutable_members(m.members_size() - 1)
        ->mutable_keys(0)
        ->set_confirmed_out_of_band(confirmed_out_of_band);
  }
  protocol::SetExpiry(&m, opened->config.manifest_validity_ms);
  // Compare-and-swap against what was read: the running hub's re-issue loop may have published
  // meanwhile (then nothing is written; run the command again).
  const std::string signed_manifest = protocol::SignManifest(m, hub);
  s = held->has_value()
          ? opened->store->ReplaceMeta(storage::kManifestMetaKey, **held, signed_manifest)
          : opened->store->SetMeta(storage::kManifestMetaKey, signed_manifest);
  if (s.code() == Status::Code::kConflict) {
    return Fail(Status::Conflict(
        "the manifest changed while this command ran (the hub re-issued it); run it again"));
  }
  if (!s.ok()) return Fail(s);
  std::printf("manifest version %llu published (%d members)\n",
              static_cast<unsigned long long>(m.version()), m.members_size());
  return 0;
}

namespace {

// A member's config and current key, for `key new` and `key activate` (`command`): the hub's key
// is pinned by every node at init and never changes.
struct MemberKey {
  NodeConfig config;
  crypto::SigningKey key;
};
Result<MemberKey> LoadMemberKey(const DataDir& data, const std::string& command) {
  auto config = data.LoadConfig();
  if (!config.ok()) return config.status();
  if (config->jurisdiction == protocol::kNationalHub) {
    return Status::InvalidArgument("the hub's key is pinned by every node at init; " + command +
                                   " is for members");
  }
  auto key = data.LoadSigningKey();
  if (!key.ok()) return key.status();
  return MemberKey{std::move(*config), std::move(*key)};
}

}  // namespace

int NewKey(const std::string& dir) {
  DataDir data(dir);
  auto member = LoadMemberKey(data, "key new");
  if (!member.ok()) return Fail(member.status());
  const NodeConfig* config = &member->config;
  const crypto::SigningKey* current = &member->key;
  bool made = false;
  auto next = data.NextSigningKey(&made);
  if (!next.ok()) return Fail(next.status());
  const std::string statement = protocol::SignKeyChange(config->jurisdiction, *current,
                                                        next->public_key(), Clock::Real()->NowMs());
  std::printf("new key: %s (%s %s)\n", crypto::HexEncode(next->public_key()).c_str(),
              made ? "made now in" : "already in", data.NextKeyPath().c_str());
  std::printf("statement: %s\n", crypto::Base64Encode(statement).c_str());
  std::printf("log key after `key activate`: %s\n",
              crypto::VerifierKeyString(config->origin, next->public_key()).c_str());
  std::printf(
      "member %s changes its key %s -> %s; signed by the current key. On the hub:\n"
      "  lapor-node federation rotate-key --data-dir HUB_DIR --jurisdiction %s --statement "
      "<statement>\n",
      config->jurisdiction.c_str(), crypto::HexEncode(current->public_key()).substr(0, 16).c_str(),
      crypto::HexEncode(next->public_key()).substr(0, 16).c_str(), config->jurisdiction.c_str());
  std::printf(
      "and, so that the hub's witness cosigns the log under the new key:\n"
      "  lapor-node witness cosign --data-dir HUB_DIR --vkey <log key after `key activate`>\n"
      "Once this node's manifest lists the new key: stop the node, `lapor-node key activate "
      "--data-dir %s`, start it.\n",
      dir.c_str());
  return 0;
}

int ErasePii(const std::string& dir, const std::string& tracking_id) {
  // The caller holds the data folder's lock: no node runs on it (node/main.cc).
  auto opened = OpenNode(dir);
  if (!opened.ok()) return Fail(opened.status());
  auto ref = protocol::TrackingIdCodec(opened->sealing_key, opened->config.jurisdiction)
                 .Decode(tracking_id);
  std::optional<v1::CaseState> state;
  if (ref) {
    auto own = opened->store->GetCase(*ref);
    if (!own.ok()) return Fail(own.status());
    if (own->has_value() && (*own)->case_id() == tracking_id) state = std::move(**own);
  } else {
    // A case another node opened that this node holds (as its owner, it may hold the reporter's
    // record, under its own local ref).
    auto foreign = opened->store->FindForeignCase(tracking_id);
    if (!foreign.ok()) return Fail(foreign.status());
    if (foreign->has_value()) state = std::move((*foreign)->second);
  }
  if (!state) return Fail(Status::NotFound("no case with tracking id " + tracking_id));
  const std::string& self = opened->config.node_id;
  if (state->owner_node() == self) {
    // The owner signs the erasure (EVENT_ERASED) as the running node would: its own copies go
    // with the event, and every party erases its copies when it applies the event.
    protocol::Directory directory;
    if (auto blob = opened->store->GetMeta(storage::kManifestMetaKey);
        blob.ok() && blob->has_value()) {
      if (auto m = protocol::ParseStoredManifest(**blob)) {
        directory.Set(std::make_shared<const v1::Manifest>(std::move(*m)));
      }
    }
    CaseServiceOptions opts;
    opts.node_id = self;
    opts.jurisdiction = opened->config.jurisdiction;
    opts.key = opened->key;
    opts.sealing_key = opened->sealing_key;
    opts.directory = &directory;
    auto service = CaseService::Open(opts, opened->store.get(),
                                     std::make_shared<const protocol::WorkingCalendar>());
    if (!service.ok()) return Fail(service.status());
    auto erased = (*service)->EraseBySystem(tracking_id, {});
    if (!erased.ok()) return Fail(erased.status());
    std::string parties;
    for (const auto& p : erased->parties()) {
      if (p != self) parties += (parties.empty() ? "" : ", ") + p;
    }
    std::printf("personal data of %s erased here and signed as an erasure (seq %llu); %s\n",
                tracking_id.c_str(), static_cast<unsigned long long>(erased->last_seq()),
                parties.empty()
                    ? "no other node holds the case"
                    : ("the parties (" + parties +
                       ") erase their copies when they receive it; their confirmations are "
                       "listed under \"erasures\" in the case (admin)")
                          .c_str());
  } else {
    // Not this node's case to erase everywhere: its own copies only.
    auto copies = opened->store->EraseOutboxSealed(tracking_id, "reporter");
    if (!copies.ok()) return Fail(copies.status());
    Status s = opened->store->EraseSealed(CaseRef(*state), "reporter");
    if (!s.ok() && !(s.code() == Status::Code::kNotFound && *copies > 0)) return Fail(s);
    std::printf(
        "reporter data of %s erased at this node (%d copies for other nodes removed from the "
        "outbox); node %s owns the case: its admin erases it everywhere\n",
        tracking_id.c_str(), *copies, state->owner_node().c_str());
  }
  // secure_delete zeroed the record in the database's pages; the write-ahead log may still hold
  // older frames with it until it is emptied.
  if (Status wal = EmptyWal(opened->store.get()); !wal.ok()) {
    return Fail(
        Status::Unavailable(wal.message() +
                            ": an older copy of the erased record may remain in lapor.db-wal; run "
                            "`lapor-node wal truncate --data-dir " +
                            dir + "`"));
  }
  std::printf("the write-ahead log was emptied: no copy is left in lapor.db-wal\n");
  return 0;
}

namespace {

// The data folder's files a backup carries besides the database: these (holidays.txt may be
// absent), and the node's next and earlier keys if it has them (node.key.next,
// node.key.retired-*: without them boxes sealed to those keys would not open after a restore).
constexpr const char* kBackedUpFiles[] = {"node.json", "node.key", "sealing.key", "holidays.txt"};

Result<std::vector<std::string>> BackedUpFiles(const std::string& dir) {
  std::vector<std::string> names(std::begin(kBackedUpFiles), std::end(kBackedUpFiles));
  std::error_code ec;
  std::vector<std::string> keys;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == "node.key.next" || IsRetiredKeyName(name)) keys.push_back(name);
  }
  if (ec) return Status::IOError("cannot list " + dir + ": " + ec.message());
  std::sort(keys.begin(), keys.end());
  names.insert(names.end(), keys.begin(), keys.end());
  return names;
}

Status WriteFileSynced(const std::string& path, const std::string& content, mode_t mode) {
  FILE* f = std::fopen(path.c_str(), "wbx");
  if (f == nullptr) return Status::IOError("cannot create " + path);
  ::fchmod(fileno(f), mode);
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size() &&
                       std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  return written ? Status::Ok() : Status::IOError("cannot write " + path);
}

// Restores `from` into `dir` (which must be empty or absent) and fscks it. With `mark`, the
// store carries the restore mark (storage::kRestoredMetaKey).
Result<FsckReport> RestoreInto(const std::string& from, const std::string& dir, bool mark) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec)) {
    return Status::AlreadyExists(dir + " is not empty: a restore goes into a new, empty folder");
  }
  LAPOR_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  DataDir data(dir);
  auto files = storage::ReadBackup(from, data.DatabasePath());
  if (!files.ok()) return files.status();
  bool has_config = false;
  for (const auto& f : *files) {
    LAPOR_RETURN_IF_ERROR(WriteFileSynced(dir + "/" + f.name, f.content, f.mode & 0600));
    has_config = has_config || f.name == "node.json";
  }
  if (!has_config) return Status::Corruption(from + " holds no node.json: not a node's backup");
  auto opened = OpenNode(dir);
  if (!opened.ok()) return opened.status();
  auto next_seq = opened->store->NextSeq();
  if (!next_seq.ok()) return next_seq.status();
  if (mark) {
    nlohmann::json m = {
        {"from", from}, {"restored_ms", Clock::Real()->NowMs()}, {"next_seq", *next_seq}};
    LAPOR_RETURN_IF_ERROR(opened->store->SetMeta(storage::kRestoredMetaKey, m.dump()));
  }
  return Fsck(opened->store.get(), opened->config.node_id, opened->public_keys, opened->sealing_key,
              opened->config.origin);
}

std::string Summary(const FsckReport& r) {
  return std::to_string(r.events) + " events, " + std::to_string(r.cases) + " cases, " +
         std::to_string(r.sealed_checked) + " sealed records, checkpoint " +
         std::to_string(r.checkpoint_size);
}

}  // namespace

int Backup(const std::string& dir, const std::string& out, bool overwrite) {
  DataDir data(dir);
  auto config = data.LoadConfig();
  if (!config.ok()) return Fail(config.status());
  std::vector<storage::BackupFile> files;
  auto backed_up = BackedUpFiles(dir);
  if (!backed_up.ok()) return Fail(backed_up.status());
  for (const std::string& name : *backed_up) {
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (name == "holidays.txt") continue;
      return Fail(Status::NotFound(path + " is missing"));
    }
    std::ifstream in(path, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return Fail(Status::IOError("cannot read " + path));
    files.push_back({name, st.st_mode & 0777, std::move(content)});
  }
  if (Status s = storage::WriteBackup(data.DatabasePath(), files, out, overwrite); !s.ok()) {
    return Fail(s);
  }
  // Checked as a restore would use it: restored into a scratch folder beside it, then fsck.
  const std::string scratch = out + ".check";
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  auto report = RestoreInto(out, scratch, /*mark=*/false);
  std::filesystem::remove_all(scratch, ec);
  if (!report.ok() || !report->ok()) {
    std::filesystem::remove(out, ec);
    if (!report.ok()) return Fail(report.status());
    for (const auto& p : report->problems) std::fprintf(stderr, "PROBLEM %s\n", p.c_str());
    return Fail(Status::Corruption("the backup failed fsck (problems above); nothing was kept"));
  }
  std::printf(
      "backup of node %s written to %s: %s; fsck clean.\n"
      "It holds the node's signing and sealing keys and reporters' personal data: keep it as "
      "the data folder itself is kept (readable by the node's user only, on encrypted storage, "
      "a copy away from this machine).\n",
      config->node_id.c_str(), out.c_str(), Summary(*report).c_str());
  return 0;
}

int Restore(const std::string& from, const std::string& dir) {
  auto report = RestoreInto(from, dir, /*mark=*/true);
  if (!report.ok()) return Fail(report.status());
  for (const auto& p : report->problems) std::printf("PROBLEM %s\n", p.c_str());
  if (!report->ok()) {
    return Fail(Status::Corruption("the restored folder " + dir + " failed fsck (problems above)"));
  }
  std::printf(
      "restored %s into %s: %s; fsck clean.\n"
      "Start it with `lapor-node run --data-dir %s`. Before it signs anything it asks the hub, "
      "its peers and its witnesses how far its log went and takes back its own events they "
      "hold; new complaints and actions get 503 while events are missing (see /healthz).\n",
      from.c_str(), dir.c_str(), Summary(*report).c_str(), dir.c_str());
  return 0;
}

namespace {

// Replaces node.json with `j` (written beside it, fsynced, renamed into place).
Status WriteConfig(const DataDir& data, const nlohmann::json& j) {
  const std::string tmp = data.ConfigPath() + ".tmp";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  LAPOR_RETURN_IF_ERROR(WriteFileSynced(tmp, j.dump(2) + "\n", 0600));
  if (std::rename(tmp.c_str(), data.ConfigPath().c_str()) != 0) {
    return Status::IOError("cannot rename " + tmp);
  }
  const int dfd = ::open(data.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dfd >= 0 && ::fsync(dfd) == 0;
  if (dfd >= 0) ::close(dfd);
  if (!synced) return Status::IOError("cannot fsync " + data.path());
  return Status::Ok();
}

// Sets node.json's top-level string `key` to `value` (the rest of the file as it is); true if it
// changed.
Result<bool> SetConfigString(const DataDir& data, const std::string& key,
                             const std::string& value) {
  std::ifstream in(data.ConfigPath());
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption(data.ConfigPath() + " is not a JSON object");
  }
  if (j.value(key, "") == value) return false;
  j[key] = value;
  LAPOR_RETURN_IF_ERROR(WriteConfig(data, j));
  return true;
}

// Sets node.json's "public_key" (what operators send the hub) to `public_key`; true if it changed.
Result<bool> NameKeyInConfig(const DataDir& data, const std::string& public_key) {
  return SetConfigString(data, "public_key", crypto::HexEncode(public_key));
}

}  // namespace

int EditWitnesses(const std::string& dir, const std::string& op, const std::string& url,
                  const std::string& vkey) {
  DataDir data(dir);
  if (auto c = data.LoadConfig(); !c.ok()) return Fail(c.status());  // a valid config first
  nlohmann::json j;
  {
    std::ifstream in(data.ConfigPath());
    j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Fail(Status::Corruption(data.ConfigPath() + " is not a JSON object"));
    }
  }
  if (op == "list") {
    for (const auto& w : j.value("witnesses", nlohmann::json::array())) {
      std::printf("witness %s %s\n", w.value("url", "").c_str(), w.value("vkey", "").c_str());
    }
    for (const auto& v : j.value("witness_of", nlohmann::json::array())) {
      std::printf("cosigns %s\n", v.get<std::string>().c_str());
    }
    return 0;
  }
  if (op == "add" || op == "cosign" || op == "uncosign") {
    auto parsed = crypto::NoteVerifier::Parse(vkey);
    if (!parsed.ok()) {
      return Fail(Status::InvalidArgument(
          "--vkey is not a verifier key: " + parsed.status().message(), "--vkey"));
    }
    const uint8_t want = op == "add" ? crypto::kNoteSigCosignatureV1 : crypto::kNoteSigEd25519;
    if (parsed->type != want) {
      return Fail(Status::InvalidArgument(
          op == "add"
              ? "--vkey must be a witness's cosigner key (lapor-node vkey --witness on the hub)"
              : "--vkey must be a log's verifier key (lapor-node vkey on the member)",
          "--vkey"));
    }
  }
  if (op == "add" || op == "remove") {
    if (op == "add") {
      const bool https = url.rfind("https://", 0) == 0;
      const std::string rest = url.substr(https ? 8 : url.rfind("http://", 0) == 0 ? 7 : 0);
      if ((!https && url.rfind("http://", 0) != 0) || rest.empty() || rest[0] == '/' ||
          rest.find_first_of(" ?#") != std::string::npos) {
        return Fail(Status::InvalidArgument(
            "--url must be a base URL such as https://hub.lapor.example", "--url"));
      }
    }
    nlohmann::json list = nlohmann::json::array();
    bool found = false;
    for (const auto& w : j.value("witnesses", nlohmann::json::array())) {
      if (w.value("url", "") == url) {
        found = true;
        continue;
      }
      list.push_back(w);
    }
    if (op == "remove" && !found) {
      return Fail(Status::NotFound("no witness with URL " + url + " in " + data.ConfigPath()));
    }
    if (op == "add") list.push_back({{"url", url}, {"vkey", vkey}});
    j["witnesses"] = list;
  } else if (op == "cosign" || op == "uncosign") {
    nlohmann::json list = nlohmann::json::array();
    bool found = false;
    for (const auto& v : j.value("witness_of", nlohmann::json::array())) {
      if (v.get<std::string>() == vkey) {
        found = true;
        continue;
      }
      list.push_back(v);
    }
    if (op == "uncosign" && !found) {
      return Fail(Status::NotFound("this node does not witness the log " + vkey));
    }
    if (op == "cosign") list.push_back(vkey);
    j["witness_of"] = list;
  } else {
    return Fail(Status::InvalidArgument("unknown witness command " + op));
  }
  if (Status s = WriteConfig(data, j); !s.ok()) return Fail(s);
  if (auto c = data.LoadConfig(); !c.ok()) return Fail(c.status());
  std::printf("%s: %s %s; restart the node for it to take effect\n", data.ConfigPath().c_str(),
              op == "add"      ? "witness added:"
              : op == "remove" ? "witness removed:"
              : op == "cosign" ? "now witnesses the log"
                               : "no longer witnesses the log",
              op == "add" || op == "remove" ? url.c_str() : vkey.c_str());
  return 0;
}

int ActivateKey(const std::string& dir) {
  // The caller holds the data folder's lock: no node runs on it (node/main.cc).
  DataDir data(dir);
  auto member = LoadMemberKey(data, "key activate");
  if (!member.ok()) return Fail(member.status());
  const NodeConfig* config = &member->config;
  const crypto::SigningKey* current = &member->key;
  auto next = data.HeldNextKey();
  if (!next.ok()) return Fail(next.status());
  if (!next->has_value()) {
    // Run again after a crash between the key's move and node.json's update: finish that.
    auto repaired = NameKeyInConfig(data, current->public_key());
    if (!repaired.ok()) return Fail(repaired.status());
    if (*repaired) {
      std::printf("%s named an earlier key: it names the node's key %s now\n",
                  data.ConfigPath().c_str(), current->KeyId().c_str());
      return 0;
    }
    return Fail(Status::NotFound("no " + data.NextKeyPath() +
                                 ": make it with `lapor-node key new` and have the hub list it "
                                 "(federation rotate-key) first"));
  }
  const crypto::SigningKey& key = **next;
  const int64_t now = Clock::Real()->NowMs();
  // Other nodes accept the new key's signatures only once the manifest lists it: the manifest
  // this node holds must already (a standalone node, with no hub, has none).
  {
    auto store = OpenStoreOnly(dir);
    if (!store.ok()) return Fail(store.status());
    auto held = (*store)->GetMeta(storage::kManifestMetaKey);
    if (!held.ok()) return Fail(held.status());
    const std::string how =
        "have the hub run `federation rotate-key` with the statement of `lapor-node key new`, "
        "start this node until it fetches that manifest (GET /federation/v1/status), stop it, "
        "then activate";
    if (!held->has_value() && !config->hub_key.empty()) {
      return Fail(Status::Conflict("this node holds no federation manifest yet: " + how));
    }
    if (held->has_value()) {
      auto hub_key = crypto::HexDecode(config->hub_key);
      auto m = protocol::OpenManifest(**held, hub_key ? *hub_key : "");
      if (!m.ok()) return Fail(m.status());
      const v1::Member* self = protocol::FindNode(*m, config->node_id);
      if (self == nullptr || !protocol::KeyValidAt(*self, key.public_key(), now)) {
        return Fail(Status::Conflict("the manifest this node holds (version " +
                                     std::to_string(m->version()) + ") does not list the new key " +
                                     key.KeyId() + " for " + config->node_id +
                                     " as valid now: " + how));
      }
    }
  }
  // The first seq the earlier key did not sign: recovery takes the node's own events signed by it
  // only below that (a retired key may be a stolen one).
  {
    auto store = OpenStoreOnly(dir);
    if (!store.ok()) return Fail(store.status());
    auto next_seq = (*store)->NextSeq();
    if (!next_seq.ok()) return Fail(next_seq.status());
    if (Status s =
            (*store)->SetMeta(RetiredKeyMetaKey(current->public_key()), std::to_string(*next_seq));
        !s.ok()) {
      return Fail(s);
    }
  }
  auto retired = data.ActivateNextKey(now);
  if (!retired.ok()) return Fail(retired.status());
  // node.json names the public key for operators (what they send the hub): the new one now.
  if (auto named = NameKeyInConfig(data, key.public_key()); !named.ok()) {
    return Fail(named.status());
  }
  const std::string old_vkey = crypto::VerifierKeyString(config->origin, current->public_key());
  const std::string new_vkey = crypto::VerifierKeyString(config->origin, key.public_key());
  std::printf("node key is now %s (%s); the earlier key %s is kept in %s\n",
              crypto::HexEncode(key.public_key()).c_str(), key.KeyId().c_str(),
              current->KeyId().c_str(), retired->c_str());
  std::printf("log key (GET /log/vkey): %s\n", new_vkey.c_str());
  std::printf(
      "Start the node: it signs its checkpoint again with the new key. Its witnesses must accept "
      "the new log key; on the hub:\n"
      "  lapor-node witness cosign --data-dir HUB_DIR --vkey %s\n"
      "and, once the old key has retired, `witness uncosign --vkey %s`. Auditors verify the log "
      "with the new log key from now on.\n",
      new_vkey.c_str(), old_vkey.c_str());
  return 0;
}

namespace {

// The origin of the log that continues `origin` after lost events declared at `gap_seq`: a segment
// "s<gap seq>" before the node id ("lapor.go.id/node/32" -> "lapor.go.id/node/s4/32" ->
// "lapor.go.id/node/s90/32"), so that the origin still ends in "/<node id>" and no two
// declarations share an origin (a backup from before a declaration names the earlier origin).
std::string NextLogOrigin(const std::string& origin, const std::string& node_id, uint64_t gap_seq) {
  std::string base = origin;
  const std::string tail = "/" + node_id;
  const bool named =
      base.size() > tail.size() && base.compare(base.size() - tail.size(), tail.size(), tail) == 0;
  if (named) base.resize(base.size() - tail.size());
  const size_t slash = base.rfind('/');
  if (slash != std::string::npos && slash + 2 < base.size() && base[slash + 1] == 's' &&
      base.find_first_not_of("0123456789", slash + 2) == std::string::npos) {
    base.resize(slash);
  }
  return base + "/s" + std::to_string(gap_seq) + (named ? tail : "");
}

constexpr uint64_t kMaxLostSeqs = 1'000'000;

// The record of the latest `log continue` (kLogGapMetaKey): "<first lost> <gap seq> <origin>".
struct GapRecord {
  uint64_t first_lost = 0;
  uint64_t gap_seq = 0;
  std::string origin;
};
std::optional<GapRecord> ParseGapRecord(const std::string& v) {
  GapRecord r;
  char* end = nullptr;
  r.first_lost = std::strtoull(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != ' ') return std::nullopt;
  const char* at = end + 1;
  r.gap_seq = std::strtoull(at, &end, 10);
  if (end == at || *end != ' ' || r.gap_seq <= r.first_lost) return std::nullopt;
  r.origin = end + 1;
  if (r.origin.empty()) return std::nullopt;
  return r;
}

}  // namespace

Status CheckLogGapFinished(storage::Store* store, const std::string& origin) {
  auto v = store->GetMeta(storage::kLogGapMetaKey);
  if (!v.ok()) return v.status();
  if (!v->has_value() || (*v)->empty()) return Status::Ok();
  auto r = ParseGapRecord(**v);
  if (!r) return Status::Corruption("the store's record of lost seqs does not parse: " + **v);
  if (r->origin != origin) {
    return Status::Conflict("the log declared seq " + std::to_string(r->first_lost) + "-" +
                            std::to_string(r->gap_seq - 1) + " lost and continues as " + r->origin +
                            ", but node.json names the origin " + origin +
                            ": `lapor-node log continue` was interrupted; run it again to finish");
  }
  return Status::Ok();
}

int ContinueLog(const std::string& dir, uint64_t seen_size) {
  // The caller holds the data folder's lock: no node runs on it (node/main.cc).
  DataDir data(dir);
  auto opened = OpenNode(dir);
  if (!opened.ok()) return Fail(opened.status());
  const NodeConfig& config = opened->config;
  storage::Store* store = opened->store.get();
  auto held = store->NextSeq();
  if (!held.ok()) return Fail(held.status());
  auto recorded_gap = store->GetMeta(storage::kLogGapMetaKey);
  if (!recorded_gap.ok()) return Fail(recorded_gap.status());
  std::optional<GapRecord> gap;
  if (recorded_gap->has_value() && !(*recorded_gap)->empty()) {
    gap = ParseGapRecord(**recorded_gap);
    if (!gap) return Fail(Status::Corruption("the store's record of lost seqs does not parse"));
  }
  auto latest = store->LatestCheckpoint();
  if (!latest.ok()) return Fail(latest.status());
  const bool checkpoint_under_origin =
      latest->has_value() &&
      (*latest)->note.rfind(config.origin + "\n", 0) == 0;  // the note's first line
  // Run again after a crash: the placeholders and the event are stored (with the record), but
  // node.json or the checkpoint does not follow yet. Finish.
  const bool finishing =
      gap && (gap->origin != config.origin || (!checkpoint_under_origin && gap->gap_seq < *held));
  std::string source;
  if (finishing && seen_size > 0) {
    std::fprintf(stderr,
                 "lapor-node: --seen-size is ignored: finishing the declaration already stored "
                 "(seq %llu-%llu)\n",
                 static_cast<unsigned long long>(gap->first_lost),
                 static_cast<unsigned long long>(gap->gap_seq - 1));
  }
  if (!finishing) {
    source = "the operator (--seen-size)";
    uint64_t seen = seen_size;
    auto recorded = store->GetMeta(storage::kLogSeenMetaKey);
    if (!recorded.ok()) return Fail(recorded.status());
    if (recorded->has_value()) {
      const std::string& r = **recorded;
      const uint64_t n = std::strtoull(r.c_str(), nullptr, 10);
      if (n > seen) {
        seen = n;
        source = r.substr(std::min(r.find(' '), r.size()));
        if (!source.empty()) source.erase(0, 1);
      }
    }
    if (seen <= *held) {
      return Fail(Status::Conflict(
          "nothing is missing: this node holds seq 0-" +
          std::to_string(*held == 0 ? 0 : *held - 1) +
          (seen > 0 ? " and others have seen " + std::to_string(seen) + " event(s)"
                    : " and it has no record that others saw more (a node that is behind "
                      "records it; --seen-size N if you know of more)") +
          "; `log continue` is only for seqs lost for good"));
    }
    if (seen - *held > kMaxLostSeqs) {
      return Fail(Status::InvalidArgument(
          "others have seen " + std::to_string(seen) + " events but this node holds " +
              std::to_string(*held) + ": more than " + std::to_string(kMaxLostSeqs) +
              " lost seqs is not a lost disk's worth; check the record (" + source + ")",
          "seen-size"));
    }
    gap = GapRecord{*held, seen, NextLogOrigin(config.origin, config.node_id, seen)};
    // The event is dated no earlier than the last one signed.
    int64_t last_ms = 0;
    if (*held > 0) {
      auto e = store->Envelopes(*held - 1, 1);
      if (!e.ok()) return Fail(e.status());
      protocol::EventEnvelope last;
      if (e->size() == 1 && protocol::ParseEventEnvelope((*e)[0], &last).ok()) {
        last_ms = last.event.time_ms();
      }
    }
    v1::Event ev;
    ev.set_node_id(config.node_id);
    ev.set_seq(gap->gap_seq);
    ev.set_time_ms(std::max(Clock::Real()->NowMs(), last_ms));
    ev.mutable_actor()->set_kind(v1::ACTOR_SYSTEM);
    ev.set_type(v1::EVENT_LOG_GAP);
    ev.mutable_log_gap()->set_first_lost(gap->first_lost);
    ev.mutable_log_gap()->set_previous_origin(config.origin);
    ev.mutable_log_gap()->set_seen(source);
    ev.mutable_log_gap()->set_origin(gap->origin);
    std::vector<storage::StoredEvent> rows;
    rows.reserve(gap->gap_seq - gap->first_lost + 1);
    for (uint64_t s = gap->first_lost; s < gap->gap_seq; ++s) {
      std::string entry = protocol::LostEntry(s);
      rows.push_back({s, gap->gap_seq, crypto::Sha256(entry), std::move(entry), {}});
    }
    std::string bytes = protocol::SignEnvelope(protocol::kEventPayloadType, ev, *opened->key);
    rows.push_back({gap->gap_seq, gap->gap_seq, crypto::Sha256(bytes), std::move(bytes), {}});
    // The placeholders, the event declaring them and the record: all durable, or none.
    const std::string record =
        std::to_string(gap->first_lost) + " " + std::to_string(gap->gap_seq) + " " + gap->origin;
    if (Status s = store->AppendOffline(
            rows, {{storage::kLogGapMetaKey, record}, {storage::kLogSeenMetaKey, ""}});
        !s.ok()) {
      return Fail(s);
    }
  }
  // The log goes on under the new origin: it no longer extends what witnesses cosigned beyond
  // the first lost seq.
  const std::string& origin = gap->origin;
  if (auto set = SetConfigString(data, "origin", origin); !set.ok()) return Fail(set.status());
  // A checkpoint of the new log, so that what the node serves from its start is signed under it.
  auto key = opened->key;
  auto log = storage::TreeLog::Open(store, origin, [key, origin](const std::string& b) {
    return crypto::SignNote(b, origin, *key);
  });
  if (!log.ok()) return Fail(log.status());
  auto size = (*log)->Integrate();
  if (!size.ok()) return Fail(size.status());
  const std::string vkey = crypto::VerifierKeyString(origin, key->public_key());
  const auto first = static_cast<unsigned long long>(gap->first_lost);
  const auto last = static_cast<unsigned long long>(gap->gap_seq - 1);
  std::printf(
      "seq %llu-%llu of %s are recorded as lost (%llu event(s)), declared by its event of seq "
      "%llu; new events start at seq %llu, so no seq and no tracking id is used twice\n",
      first, last, config.node_id.c_str(), last - first + 1,
      static_cast<unsigned long long>(gap->gap_seq),
      static_cast<unsigned long long>(gap->gap_seq + 1));
  if (!source.empty()) std::printf("how far the log went, as seen by: %s\n", source.c_str());
  std::printf("the log continues as %s (checkpoint of size %llu); log key (GET /log/vkey): %s\n",
              origin.c_str(), static_cast<unsigned long long>(*size), vkey.c_str());
  std::printf(
      "Its witnesses must accept the new log; on the hub:\n"
      "  lapor-node witness cosign --data-dir HUB_DIR --vkey %s\n"
      "Tell auditors: they accept the loss with `lapor-audit verify --vkey <log key above> "
      "--accept-lost %llu-%llu`; %s. Complaints filed at seq %llu-%llu are gone here unless "
      "their reporters file them again (a cross-region one lives on at its owner and the hub). "
      "Then start the node.\n",
      vkey.c_str(), first, last,
      first == 0 ? "no entry before them is kept, so no earlier audit state carries on"
                 : ("entries 0-" + std::to_string(first - 1) +
                    " are unchanged, and an audit state saved beyond them cannot be continued")
                       .c_str(),
      first, last);
  return 0;
}

}  // namespace lapor::node
