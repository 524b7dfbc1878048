// lapor-node: the command line of a LAPOR! node: its arguments, the dispatch to a subcommand, and
// `run` (serve until SIGINT/SIGTERM). The other subcommands are in node/admin.cc.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "crypto/crypto.h"
#include "node/admin.h"
#include "node/logging.h"
#include "node/node_context.h"
#include "storage/store.h"
#include "storage/wal_vfs.h"

namespace lapor::node {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

int Run(const std::string& dir, const std::string& listen_override) {
  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  if (auto locked = LockDataDir(dir); !locked.ok()) return Fail(locked.status());
  // A test seam (tests/disk_fault_test.cc): fail one disk operation of the store on purpose.
  if (const char* spec = std::getenv("LAPOR_TEST_DISK_FAULT"); spec != nullptr && *spec != 0) {
    auto fault = lapor::storage::ParseDiskFault(spec);
    if (!fault.ok()) return Fail(fault.status());
    lapor::storage::SetDiskFault(*fault);
    spdlog::warn(
        "LAPOR_TEST_DISK_FAULT={}: this node fails a disk operation on purpose (a test "
        "setting; never set it in production)",
        spec);
  }
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
  std::string member_url, member_key, statement, confirmed_out_of_band;
  int overlap_hours = 24;
  auto* add_member = fed->add_subcommand("add-member", "add a node; publishes version + 1");
  add_member->add_option("--data-dir", dir, "the hub's data folder")->required();
  add_member->add_option("--jurisdiction", jurisdiction, "the member's code")->required();
  add_member->add_option("--url", member_url, "the member's base URL")->required();
  add_member->add_option("--key", member_key, "the member's Ed25519 public key (hex)")->required();
  add_member->add_option("--confirmed-out-of-band", confirmed_out_of_band,
                         "a member added again with a new key: who confirmed it and how");
  auto* remove_member = fed->add_subcommand("remove-member", "remove a node; version + 1");
  remove_member->add_option("--data-dir", dir, "the hub's data folder")->required();
  remove_member->add_option("--jurisdiction", jurisdiction, "the member's code")->required();
  auto* rotate_key = fed->add_subcommand(
      "rotate-key", "list a member's new key, vouched for by the member; version + 1");
  rotate_key->add_option("--data-dir", dir, "the hub's data folder")->required();
  rotate_key->add_option("--jurisdiction", jurisdiction, "the member's code")->required();
  auto* statement_opt = rotate_key->add_option(
      "--statement", statement, "the member's key change statement (base64, from `key new`)");
  auto* oob_opt = rotate_key->add_option(
      "--confirmed-out-of-band", confirmed_out_of_band,
      "instead of a statement (the member lost its key): who confirmed the change and how, "
      "recorded in the manifest (a ticket, a call)");
  statement_opt->excludes(oob_opt);
  rotate_key->add_option("--key", member_key, "the new Ed25519 public key (hex)")->needs(oob_opt);
  rotate_key->add_option("--overlap-hours", overlap_hours, "hours until the old key retires")
      ->check(CLI::Range(0, 24 * 365));

  auto* key_cmd = app.add_subcommand("key", "this node's signing key");
  key_cmd->require_subcommand(1);
  auto* key_new = key_cmd->add_subcommand(
      "new", "make the next key (node.key.next) and print the statement the hub needs");
  key_new->add_option("--data-dir", dir, "data folder")->required();
  auto* key_activate = key_cmd->add_subcommand(
      "activate", "sign with node.key.next from now on (node stopped; the hub must list it)");
  key_activate->add_option("--data-dir", dir, "data folder")->required();

  auto* log_cmd = app.add_subcommand("log", "this node's transparency log");
  log_cmd->require_subcommand(1);
  uint64_t seen_size = 0;
  auto* log_continue = log_cmd->add_subcommand(
      "continue",
      "record the seqs others saw but nobody holds as lost, and go on after them under a new log "
      "origin (node stopped; only for events lost for good)");
  log_continue->add_option("--data-dir", dir, "data folder")->required();
  log_continue->add_option("--seen-size", seen_size,
                           "the log size others have seen, if more than the node recorded");

  std::string bundle_out;
  auto* export_bundle =
      app.add_subcommand("export-audit-bundle", "write the log (entries + checkpoint) to one file");
  export_bundle->add_option("--data-dir", dir, "data folder")->required();
  export_bundle->add_option("--out", bundle_out, "bundle file to write")->required();

  std::string backup_out, restore_from;
  bool overwrite = false;
  auto* backup = app.add_subcommand(
      "backup", "copy the data folder into one file, checked with fsck (the node may run)");
  backup->add_option("--data-dir", dir, "data folder")->required();
  backup->add_option("--out", backup_out, "backup file to write (0600)")->required();
  backup->add_flag("--overwrite", overwrite, "replace an existing backup file");
  auto* restore =
      app.add_subcommand("restore", "restore a backup into a new data folder, checked with fsck");
  restore->add_option("--from", restore_from, "backup file")->required();
  restore->add_option("--data-dir", dir, "the new data folder (absent or empty)")->required();

  auto* wit =
      app.add_subcommand("witness", "witnessing: a member's witnesses, the logs the hub cosigns");
  wit->require_subcommand(1);
  std::string witness_url, witness_key;
  auto* wit_add = wit->add_subcommand("add", "send this node's checkpoints to a witness");
  wit_add->add_option("--data-dir", dir, "data folder")->required();
  wit_add->add_option("--url", witness_url, "the witness's base URL (the hub's)")->required();
  wit_add->add_option("--vkey", witness_key, "its cosigner key (lapor-node vkey --witness)")
      ->required();
  auto* wit_remove = wit->add_subcommand("remove", "stop sending checkpoints to a witness");
  wit_remove->add_option("--data-dir", dir, "data folder")->required();
  wit_remove->add_option("--url", witness_url, "the witness's base URL")->required();
  auto* wit_cosign = wit->add_subcommand("cosign", "(the hub) witness a member's log");
  wit_cosign->add_option("--data-dir", dir, "data folder")->required();
  wit_cosign->add_option("--vkey", witness_key, "the member's log key (lapor-node vkey)")
      ->required();
  auto* wit_uncosign = wit->add_subcommand("uncosign", "(the hub) stop witnessing a log");
  wit_uncosign->add_option("--data-dir", dir, "data folder")->required();
  wit_uncosign->add_option("--vkey", witness_key, "the member's log key")->required();
  auto* wit_list = wit->add_subcommand("list", "the witnesses and witnessed logs in node.json");
  wit_list->add_option("--data-dir", dir, "data folder")->required();

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
  if (*erase) {
    // Signing an erasure takes the node's next seq: only with no node running on the folder.
    if (auto locked = LockDataDir(dir); !locked.ok()) {
      return Fail(lapor::Status::Conflict(
          locked.status().message() +
          " (a running node erases through its API: POST "
          "/api/v1/complaints/ID/actions {\"action\": \"erase\"}, admin token)"));
    }
    return ErasePii(dir, tracking_id);
  }
  if (*export_bundle) return ExportAuditBundle(dir, bundle_out);
  if (*backup) return Backup(dir, backup_out, overwrite);
  for (const auto& [sub, name] :
       {std::pair{wit_add, "add"}, std::pair{wit_remove, "remove"}, std::pair{wit_cosign, "cosign"},
        std::pair{wit_uncosign, "uncosign"}, std::pair{wit_list, "list"}}) {
    if (*sub) return EditWitnesses(dir, name, witness_url, witness_key);
  }
  if (*restore) return Restore(restore_from, dir);
  if (*add_member || *remove_member || *rotate_key) {
    const char* op = *add_member ? "add" : *remove_member ? "remove" : "rotate";
    if (*rotate_key && statement.empty() && confirmed_out_of_band.empty()) {
      return Fail(lapor::Status::InvalidArgument(
          "rotate-key needs the member's --statement (from `lapor-node key new` on the member), "
          "or --confirmed-out-of-band and --key",
          "--statement"));
    }
    return EditManifest(dir, op, jurisdiction, member_url, member_key, overlap_hours, statement,
                        confirmed_out_of_band);
  }
  if (*key_new) return NewKey(dir);
  if (*key_activate) {
    if (auto locked = LockDataDir(dir); !locked.ok()) {
      return Fail(lapor::Status::Conflict(locked.status().message() +
                                          " (stop the node first: the key changes between runs)"));
    }
    return ActivateKey(dir);
  }
  if (*log_continue) {
    if (auto locked = LockDataDir(dir); !locked.ok()) {
      return Fail(lapor::Status::Conflict(locked.status().message() + " (stop the node first)"));
    }
    return ContinueLog(dir, seen_size);
  }
  return 2;
}
