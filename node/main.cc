// lapor-node: the command line of a LAPOR! node (init, run, operator add, fsck, pii erase).
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "crypto/encoding.h"
#include "crypto/note.h"
#include "node/case_service.h"
#include "node/data_dir.h"
#include "node/fsck.h"
#include "node/logging.h"
#include "node/node_context.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"
#include "protocol/regions.h"
#include "protocol/tracking_id.h"

namespace lapor::node {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "lapor-node: %s\n", s.ToString().c_str());
  return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
}

struct Opened {
  NodeConfig config;
  std::shared_ptr<const crypto::SigningKey> key;
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
  auto sealing = data.LoadSealingKey();
  if (!sealing.ok()) return sealing.status();
  o.sealing_key = *sealing;
  storage::StoreOptions store_options;
  store_options.commit_gather_writes = o.config.commit_gather_writes;
  store_options.commit_gather_us = o.config.commit_gather_us;
  auto store = storage::Store::Open(data.DatabasePath(), store_options);
  if (!store.ok()) return store.status();
  o.store = std::move(*store);
  return o;
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

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// One process per data folder: an exclusive lock on DIR/lock held for the life of the process
// (the kernel drops it when the process dies, kill -9 included). The file holds the pid.
Status LockDataDir(const std::string& dir) {
  const std::string path = dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd);
    return Status::Conflict("another lapor-node (pid " + (holder.empty() ? "?" : holder) +
                            ") is running on " + dir + "; stop it first");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    spdlog::warn("cannot write the pid to {}", path);
  }
  return Status::Ok();  // fd stays open (and locked) until the process exits
}

int Run(const std::string& dir, const std::string& listen_override) {
  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  if (Status locked = LockDataDir(dir); !locked.ok()) return Fail(locked);
  auto node = NodeContext::Open(dir, listen_override);
  if (!node.ok()) return Fail(node.status());
  if (Status s = (*node)->Start(); !s.ok()) return Fail(s);

  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("signal {} received: finishing in-flight requests", sig);
  Status stopped = (*node)->Stop();
  if (!stopped.ok()) {
    spdlog::error("stopped after a store failure (exit 1): what was acknowledged is durable ({})",
                  stopped.message());
  } else {
    spdlog::info("stopped cleanly");
  }
  // Flush, not spdlog::shutdown(): the HTTP edge still answers 503 (and may log) until _Exit,
  // and shutdown() drops the default logger those threads use.
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  // Everything is durable and every request answered. Skip static destructors: cpprestsdk's
  // thread pool may still be unwinding connections and races with them at exit.
  std::fflush(nullptr);
  std::_Exit(stopped.ok() ? 0 : 1);
}

// Operator tokens: printed once, only their SHA-256 is stored.
std::string NewOperatorToken() { return "lpt_" + crypto::Base32Encode(crypto::RandomBytes(20)); }

int64_t ExpiryFromDays(int days) {
  return days > 0 ? Clock::Real()->NowMs() + int64_t{days} * 86400000 : 0;
}

Result<std::unique_ptr<storage::Store>> OpenStoreOnly(const std::string& dir) {
  DataDir data(dir);
  if (auto c = data.LoadConfig(); !c.ok()) return c.status();
  return storage::Store::Open(data.DatabasePath());
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

// Empties the write-ahead log, retrying for about 5 s while a running node keeps it busy.
Status EmptyWal(storage::Store* store) {
  Status wal = store->TruncateWal();
  for (int i = 0; i < 20 && wal.code() == Status::Code::kUnavailable; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    wal = store->TruncateWal();
  }
  return wal;
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
  auto report = Fsck(opened->store.get(), opened->config.node_id, opened->key->public_key(),
                     opened->sealing_key, opened->config.origin);
  if (!report.ok()) return Fail(report.status());
  for (const auto& p : report->problems) std::printf("PROBLEM %s\n", p.c_str());
  std::printf("fsck: %llu events, %llu cases, %llu sealed records, checkpoint %llu checked: %s\n",
              static_cast<unsigned long long>(report->events),
              static_cast<unsigned long long>(report->cases),
              static_cast<unsigned long long>(report->sealed_checked),
              static_cast<unsigned long long>(report->checkpoint_size),
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
  bundle.set_vkey(crypto::VerifierKeyString(opened->config.origin, opened->key->public_key()));
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
                 const std::string& url, const std::string& key_hex, int overlap_hours) {
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
  if (op != "remove") {
    auto raw = crypto::HexDecode(key_hex);
    if (!raw) return Fail(Status::InvalidArgument("the key must be hex", "--key"));
    key = *raw;
  }
  Status s = op == "add"      ? protocol::AddMember(&m, jurisdiction, url, key, now)
             : op == "remove" ? protocol::RemoveMember(&m, jurisdiction, now)
                              : protocol::RotateKey(&m, jurisdiction, key, now,
                                                    int64_t{overlap_hours} * 3600 * 1000);
  if (!s.ok()) return Fail(s);
  s = opened->store->SetMeta(storage::kManifestMetaKey, protocol::SignManifest(m, hub));
  if (!s.ok()) return Fail(s);
  std::printf("manifest version %llu published (%d members)\n",
              static_cast<unsigned long long>(m.version()), m.members_size());
  return 0;
}

int ErasePii(const std::string& dir, const std::string& tracking_id) {
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
  // The copies sealed for the owner node go too, so the outbox never sends them again (a copy
  // already delivered stays with its receiver).
  auto copies = opened->store->EraseOutboxSealed(tracking_id, "reporter");
  if (!copies.ok()) return Fail(copies.status());
  Status s = opened->store->EraseSealed(CaseRef(*state), "reporter");
  if (!s.ok() && !(s.code() == Status::Code::kNotFound && *copies > 0)) return Fail(s);
  std::printf(
      "reporter data of %s erased (%d copies for other nodes removed from the outbox); "
      "signed events are unchanged\n",
      tracking_id.c_str(), *copies);
  // secure_delete zeroed the record in the database's pages; the write-ahead log may still hold
  // older frames with it until it is emptied.
  if (Status wal = EmptyWal(opened->store.get()); !wal.ok()) {
    return Fail(
        Status::Unavailable(wal.message() +
                            ": an older copy of the erased record may remain in lapor.db-wal; run "
                            "`lapor-node wal truncate --data-dir " +
                            dir + "` (the node may run)"));
  }
  std::printf("the write-ahead log was emptied: no copy is left in lapor.db-wal\n");
  return 0;
}

}  // namespace
}  // namespace lapor::node

int main(int argc, char** argv) {
  using namespace lapor::node;
  // Everything the node creates (keys, config, the database and its WAL, backups) holds keys or
  // personal data: readable by the node's user only.
  ::umask(077);
  if (lapor::Status s = SetupLogging("text", "--log-format"); !s.ok()) return Fail(s);
  if (const char* lvl = std::getenv("LAPOR_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(lvl));
  }

  CLI::App app{"lapor-node: a jurisdiction's node of the LAPOR! federation"};
  app.set_version_flag("--version", "lapor-node " LAPOR_VERSION " (database schema " +
                                        std::to_string(lapor::storage::kSchemaVersion) + ")");
  app.require_subcommand(1);
  std::string dir, jurisdiction = "32", listen = "127.0.0.1:8080", origin, name, role, agency,
                   tracking_id, listen_override;

  auto* init = app.add_subcommand("init", "create a node's data folder, keys and config");
  init->add_option("--data-dir", dir, "data folder")->required();
  init->add_option("--jurisdiction", jurisdiction, "00 (hub), province (32) or regency (32.04)")
      ->required();
  init->add_option("--listen", listen, "HOST:PORT to serve on")->capture_default_str();
  init->add_option("--origin", origin, "log origin name (default lapor.go.id/node/<code>)");
  std::string hub_key, hub_url;
  init->add_option("--hub-key", hub_key, "the national hub's Ed25519 public key (hex) to pin");
  init->add_option("--hub-url", hub_url, "the hub's base URL, for the federation manifest");

  auto* run = app.add_subcommand("run", "serve until SIGINT/SIGTERM");
  run->add_option("--data-dir", dir, "data folder")->required();
  run->add_option("--listen", listen_override, "HOST:PORT, overrides the config");
  std::string log_format =
      std::getenv("LAPOR_LOG_FORMAT") ? std::getenv("LAPOR_LOG_FORMAT") : "text";
  run->add_option("--log-format", log_format,
                  "text, or json: one object per line (time, level, subsystem, thread, message); "
                  "default $LAPOR_LOG_FORMAT or text")
      ->capture_default_str();

  auto* op = app.add_subcommand("operator", "manage operators");
  op->require_subcommand(1);
  int expires_in_days = 0;
  uint64_t operator_id = 0;
  auto* op_add = op->add_subcommand("add", "add an operator and print its token once");
  op_add->add_option("--data-dir", dir, "data folder")->required();
  op_add->add_option("--name", name, "operator name")->required();
  op_add->add_option("--role", role, "admin, liaison or auditor")->required();
  op_add->add_option("--agency", agency, "the liaison's agency (a-z, 0-9, '.', '_', '-')");
  op_add->add_option("--expires-in-days", expires_in_days, "the token expires after this many days")
      ->check(CLI::Range(0, 3650));
  auto* op_list = op->add_subcommand("list", "list operators (id, role, agency, name, state)");
  op_list->add_option("--data-dir", dir, "data folder")->required();
  auto* op_remove = op->add_subcommand("remove", "remove an operator: its token dies at once");
  op_remove->add_option("--data-dir", dir, "data folder")->required();
  op_remove->add_option("--id", operator_id, "the operator's id (see operator list)")->required();
  auto* op_rotate =
      op->add_subcommand("rotate", "give an operator a new token (printed once); the old one dies");
  op_rotate->add_option("--data-dir", dir, "data folder")->required();
  op_rotate->add_option("--id", operator_id, "the operator's id (see operator list)")->required();
  op_rotate
      ->add_option("--expires-in-days", expires_in_days,
                   "the new token expires after this many days")
      ->check(CLI::Range(0, 3650));

  auto* vkey =
      app.add_subcommand("vkey", "print this node's log verifier key (no node needs to run)");
  vkey->add_option("--data-dir", dir, "data folder")->required();
  bool witness_vkey = false;
  vkey->add_flag("--witness", witness_vkey, "the cosigner key it witnesses with (/witness/vkey)");

  auto* fsck = app.add_subcommand("fsck", "verify signatures, chains, sequence and state");
  fsck->add_option("--data-dir", dir, "data folder")->required();

  auto* fed = app.add_subcommand("federation", "the hub's federation manifest");
  fed->require_subcommand(1);
  std::string member_url, member_key;
  int overlap_hours = 24;
  auto* add_member = fed->add_subcommand("add-member", "add a node; publishes version + 1");
  add_member->add_option("--data-dir", dir, "the hub's data folder")->required();
  add_member->add_option("--jurisdiction", jurisdiction, "the member's code")->required();
  add_member->add_option("--url", member_url, "the member's base URL")->required();
  add_member->add_option("--key", member_key, "the member's Ed25519 public key (hex)")->required();
  auto* remove_member = fed->add_subcommand("remove-member", "remove a node; version + 1");
  remove_member->add_option("--data-dir", dir, "the hub's data folder")->required();
  remove_member->add_option("--jurisdiction", jurisdiction, "the member's code")->required();
  auto* rotate_key = fed->add_subcommand("rotate-key", "list a member's new key; version + 1");
  rotate_key->add_option("--data-dir", dir, "the hub's data folder")->required();
  rotate_key->add_option("--jurisdiction", jurisdiction, "the member's code")->required();
  rotate_key->add_option("--key", member_key, "the new Ed25519 public key (hex)")->required();
  rotate_key->add_option("--overlap-hours", overlap_hours, "hours until the old key retires")
      ->check(CLI::Range(0, 24 * 365));

  std::string bundle_out;
  auto* export_bundle =
      app.add_subcommand("export-audit-bundle", "write the log (entries + checkpoint) to one file");
  export_bundle->add_option("--data-dir", dir, "data folder")->required();
  export_bundle->add_option("--out", bundle_out, "bundle file to write")->required();

  auto* wal = app.add_subcommand("wal", "the database's write-ahead log");
  wal->require_subcommand(1);
  auto* wal_truncate =
      wal->add_subcommand("truncate", "copy the WAL into the database and empty it (node may run)");
  wal_truncate->add_option("--data-dir", dir, "data folder")->required();

  auto* pii = app.add_subcommand("pii", "reporter personal data");
  pii->require_subcommand(1);
  auto* erase = pii->add_subcommand("erase", "erase a case's reporter data");
  erase->add_option("TRACKING_ID", tracking_id, "case tracking id")->required();
  erase->add_option("--data-dir", dir, "data folder")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  lapor::crypto::Init();
  if (*init) return Init(dir, jurisdiction, listen, origin, hub_key, hub_url);
  if (*run) {
    if (lapor::Status s = SetupLogging(log_format, "--log-format"); !s.ok()) return Fail(s);
    if (const char* lvl = std::getenv("LAPOR_LOG_LEVEL")) {
      spdlog::set_level(spdlog::level::from_str(lvl));
    }
    return Run(dir, listen_override);
  }
  if (*op_add) return AddOperator(dir, name, role, agency, expires_in_days);
  if (*op_list) return ListOperators(dir);
  if (*op_remove) return RemoveOperator(dir, operator_id);
  if (*op_rotate) {
    return RotateOperator(dir, operator_id,
                          op_rotate->count("--expires-in-days") > 0 ? expires_in_days : -1);
  }
  if (*vkey) return PrintVkey(dir, witness_vkey);
  if (*wal_truncate) return TruncateWal(dir);
  if (*fsck) return RunFsck(dir);
  if (*erase) return ErasePii(dir, tracking_id);
  if (*export_bundle) return ExportAuditBundle(dir, bundle_out);
  if (*add_member || *remove_member || *rotate_key) {
    const char* op = *add_member ? "add" : *remove_member ? "remove" : "rotate";
    return EditManifest(dir, op, jurisdiction, member_url, member_key, overlap_hours);
  }
  return 2;
}
