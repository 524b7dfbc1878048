#include "node/node_context.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "base/clock.h"
#include "base/thread_name.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "federation/peer_client.h"
#include "node/admin.h"
#include "node/case_figures.h"
#include "node/stats.h"
#include "protocol/lifecycle.h"
#include "protocol/manifest.h"
#include "protocol/regions.h"

namespace lapor::node {
namespace {

// What tells a changed file from the one read before: inode, size, modification and status
// change times (a chmod that makes it readable counts) ("" if there is no file).
std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

// Bytes free for unprivileged writers in the file system holding `path` (0 if it cannot be read).
uint64_t FreeBytes(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return 0;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

// The node's earlier keys (newest first), then its next key if it has one.
Result<std::vector<std::shared_ptr<const crypto::SigningKey>>> OtherKeys(const DataDir& data) {
  std::vector<std::shared_ptr<const crypto::SigningKey>> keys;
  auto retired = data.RetiredSigningKeys();
  if (!retired.ok()) return retired.status();
  for (auto& k : *retired) keys.push_back(std::make_shared<const crypto::SigningKey>(std::move(k)));
  auto next = data.HeldNextKey();
  if (!next.ok()) return next.status();
  if (next->has_value()) {
    keys.push_back(std::make_shared<const crypto::SigningKey>(std::move(**next)));
  }
  return keys;
}

}  // namespace

Result<std::unique_ptr<NodeContext>> NodeContext::Open(const std::string& dir,
                                                       const std::string& listen_override) {
  std::unique_ptr<NodeContext> n(new NodeContext(dir));
  auto config = n->data_.LoadConfig();
  if (!config.ok()) return config.status();
  n->config_ = *config;
  const NodeConfig& c = n->config_;
  const std::string listen = listen_override.empty() ? c.listen : listen_override;
  LAPOR_RETURN_IF_ERROR(ParseListen(listen, &n->host_, &n->port_, "--listen"));
  auto key = n->data_.LoadSigningKey();
  if (!key.ok()) return key.status();
  n->key_ = std::make_shared<const crypto::SigningKey>(std::move(*key));
  auto sealing = n->data_.LoadSealingKey();
  if (!sealing.ok()) return sealing.status();
  n->holidays_stamp_ = FileStamp(n->data_.HolidaysPath());
  auto calendar =
      protocol::WorkingCalendar::LoadWithNational(n->data_.HolidaysPath(), c.utc_offset_minutes);
  if (!calendar.ok()) return calendar.status();

  LAPOR_RETURN_IF_ERROR(federation::SetPeerCaFile(c.tls_ca_file));

  storage::StoreOptions store_options;
  store_options.commit_gather_writes = c.commit_gather_writes;
  store_options.commit_gather_us = c.commit_gather_us;
  store_options.wal_checkpoint_interval_ms = c.wal_checkpoint_interval_ms;
  NodeMetrics* metrics = n->metrics_.get();
  NodeContext* self = n.get();
  n->integrator_ = std::make_unique<Periodic>(
      "lapor-integrate", std::chrono::milliseconds(kIntegrateIdleMs),
      [self, last = uint64_t{0}]() mutable {
        auto size = self->log_->Integrate();
        // A full disk is said once by the health loop; integration catches up once it resumes.
        if (!size.ok() && size.status().code() != Status::Code::kNoSpace) {
          spdlog::error("log integration failed: {}", size.status().ToString());
        }
        if (size.ok() && *size != last) {
          // A new checkpoint to the witnesses (Stop stops this loop before it resets the
          // client), and to the deliveries of own events waiting for it (Stop stops the
          // replicator first; it then ignores this).
          if (self->witness_client_) self->witness_client_->Wake();
          self->replicator_->CheckpointAdvanced(*size);
          last = *size;
        }
      },
      /*run_first=*/false, std::chrono::milliseconds(c.checkpoint_interval_ms));
  Periodic* integrator = n->integrator_.get();
  store_options.on_commit = [metrics, integrator](const storage::StoreOptions::CommitReport& r) {
    metrics->ObserveCommit(r.writes, r.own_events, r.foreign_events, r.seconds, r.ok);
    if (r.ok && r.own_events > 0) integrator->Wake();
  };
  auto store = storage::Store::Open(n->data_.DatabasePath(), store_options);
  if (!store.ok()) return store.status();
  n->store_ = std::move(*store);
  // Never sign under the old origin after lost seqs were declared (an interrupted `log continue`).
  LAPOR_RETURN_IF_ERROR(CheckLogGapFinished(n->store_.get(), c.origin));
  auto backfilled = BackfillCaseFigures(n->store_.get(), c.node_id);
  if (!backfilled.ok()) return backfilled.status();
  if (*backfilled > 0) {
    spdlog::info("filled in the statistics figures of {} stored cases", *backfilled);
  }

  // The federation manifest this node works with: the last good one stored (the manifest client
  // or the hub's own federation commands store it), reloaded when it changes.
  n->LoadManifest();

  federation::ReplicatorOptions& r = n->replicator_options_;
  r.node_id = c.node_id;
  r.key = n->key_;
  r.directory = &n->directory_;
  r.store = n->store_.get();
  r.peer_urls = c.peer_urls;
  r.batch_items = c.delivery_batch;
  r.retry_initial_ms = c.retry_initial_ms;
  r.retry_max_ms = c.retry_max_ms;
  r.relay_after_ms = c.relay_after_ms;
  r.dead_letter_after_ms = c.dead_letter_after_ms;
  r.outbox_retention_ms = static_cast<int64_t>(c.outbox_retention_days * 86400000.0);
  r.request_timeout_ms = c.request_timeout_ms;
  r.discovery_interval_ms = c.discovery_interval_ms;
  r.sender_threads = c.delivery_threads;
  n->replicator_ = std::make_unique<federation::Replicator>(r);

  CaseServiceOptions opts;
  opts.node_id = c.node_id;
  opts.jurisdiction = c.jurisdiction;
  opts.key = n->key_;
  auto other_keys = OtherKeys(n->data_);
  if (!other_keys.ok()) return other_keys.status();
  opts.other_keys = std::move(*other_keys);
  for (const auto& k : opts.other_keys) {
    auto limit = n->store_->GetMeta(RetiredKeyMetaKey(k->public_key()));
    if (!limit.ok()) return limit.status();
    if (limit->has_value()) {
      opts.retired_before_seq[k->public_key()] = std::strtoull((*limit)->c_str(), nullptr, 10);
    }
  }
  opts.reload_other_keys = [data = n->data_]() {
    auto keys = OtherKeys(data);
    if (!keys.ok()) spdlog::error("reading the node's other keys: {}", keys.status().ToString());
    return keys;
  };
  opts.sealing_key = *sealing;
  crypto::Wipe(&*sealing);
  opts.directory = &n->directory_;
  federation::Replicator* replicator = n->replicator_.get();
  opts.on_outbox = [replicator](const std::vector<std::string>& destinations) {
    replicator->Wake(destinations);
  };
  opts.on_escalated = [metrics](const std::string& agency, const std::string& deadline) {
    metrics->CountEscalation(agency, deadline);
  };
  opts.on_admin_erasure = [metrics] { metrics->CountErasures("admin", 1); };
  opts.relay_backlog_max_bytes = c.relay_backlog_max_bytes;
  opts.receive_busy_share = c.receive_busy_share;
  opts.receive_batch_max_ms = c.receive_batch_max_ms;
  opts.receive_pace_above_bytes = c.receive_pace_above_bytes;
  auto service =
      CaseService::Open(opts, n->store_.get(),
                        std::make_shared<const protocol::WorkingCalendar>(std::move(*calendar)));
  if (!service.ok()) return service.status();
  n->service_ = std::move(*service);

  // The transparency log: checkpoints signed by the node's key under its origin name.
  auto signer = n->key_;
  const std::string origin = c.origin;
  auto log = storage::TreeLog::Open(
      n->store_.get(), origin,
      [signer, origin](const std::string& b) { return crypto::SignNote(b, origin, *signer); });
  if (!log.ok()) return log.status();
  n->log_ = std::move(*log);
  {
    // After `key activate` the latest checkpoint is still signed by the earlier key: signed again,
    // so that what /log/checkpoint serves verifies with the log key of now (GET /log/vkey).
    // (Only then: a note signed by no key of the node's is left for fsck to report.)
    auto note = crypto::SignedNote::Parse(n->log_->checkpoint().note);
    auto signed_by = [&](const std::string& public_key) {
      auto v = crypto::NoteVerifier::FromPublicKey(origin, public_key);
      return note.ok() && v.ok() && crypto::VerifyNote(*note, *v).ok();
    };
    bool by_earlier = false;
    for (const auto& k : opts.other_keys) by_earlier = by_earlier || signed_by(k->public_key());
    if (!signed_by(n->key_->public_key()) && by_earlier) {
      LAPOR_RETURN_IF_ERROR(n->log_->Resign());
      spdlog::warn(
          "the log's checkpoint of size {} was signed by an earlier key: signed again "
          "with the node's key {}; witnesses and auditors need its log key (lapor-node "
          "vkey)",
          n->log_->checkpoint().size, n->key_->KeyId());
    }
  }
  n->replicator_->SetLog(n->log_.get());

  // Witnessing other nodes' logs, if configured (the hub does).
  if (!c.witness_of.empty()) {
    auto w = federation::Witness::Create(n->store_.get(), c.witness_of, origin, n->key_);
    if (!w.ok()) return w.status();
    n->witness_ = std::move(*w);
  }
  return n;
}

NodeContext::~NodeContext() {
  if (started_) (void)Stop();
}

void NodeContext::ReissueManifest() {
  auto blob = store_->GetMeta(storage::kManifestMetaKey);
  if (!blob.ok() || !blob->has_value()) return;  // no member yet: nothing to publish
  auto m = protocol::OpenManifest(**blob, key_->public_key());
  if (!m.ok()) {
    spdlog::error("the stored manifest is not signed by this hub: {}", m.status().ToString());
    return;
  }
  const int64_t now = Clock::Real()->NowMs();
  if (!protocol::DueForReissue(*m, now, config_.manifest_validity_ms)) return;
  protocol::Reissue(&*m, now, config_.manifest_validity_ms);
  // Compare-and-swap: a `federation` command may have published a new version meanwhile; then
  // this turn does nothing and the next one looks at that version.
  Status s =
      store_->ReplaceMeta(storage::kManifestMetaKey, **blob, protocol::SignManifest(*m, *key_));
  if (!s.ok()) {
    if (s.code() != Status::Code::kConflict)
      spdlog::error("re-issuing the manifest: {}", s.ToString());
    return;
  }
  spdlog::info("federation manifest re-issued as version {}, fresh for {} s", m->version(),
               config_.manifest_validity_ms / 1000);
  LoadManifest();
}

void NodeContext::SayIfManifestExpired() {
  auto m = directory_.Get();
  const bool expired = m && protocol::Expired(*m, Clock::Real()->NowMs());
  if (expired == manifest_expired_said_) return;
  manifest_expired_said_ = expired;
  if (expired) {
    spdlog::warn(
        "federation manifest version {} is past its expiry: the hub has not re-issued it or this "
        "node cannot reach the hub; serving on with it (lapor_manifest_expired)",
        m->version());
  } else if (m) {
    spdlog::info("federation manifest version {} is fresh again", m->version());
  }
}

void NodeContext::LoadManifest() {
  MutexLock lock(manifest_mu_);
  auto blob = store_->GetMeta(storage::kManifestMetaKey);
  if (!blob.ok() || !blob->has_value() || **blob == loaded_manifest_) return;
  auto m = protocol::ParseStoredManifest(**blob);
  if (!m) return;
  loaded_manifest_ = **blob;
  directory_.Set(std::make_shared<const v1::Manifest>(std::move(*m)));
}

void NodeContext::ReloadManifestIfChanged() {
  auto version = store_->DataVersion();
  if (version.ok() && *version == manifest_data_version_) return;
  if (version.ok()) manifest_data_version_ = *version;
  LoadManifest();
}

void NodeContext::SendStats() {
  auto m = directory_.Get();
  if (!m || config_.node_id == protocol::kHubNode) return;
  const std::string url = federation::PeerUrl(replicator_options_, std::string(protocol::kHubNode));
  if (url.empty()) return;
  auto report = BuildStats(store_.get(), config_.node_id, Clock::Real()->NowMs());
  if (!report.ok()) return spdlog::warn("statistics: {}", report.status().ToString());
  auto sent = federation::PostSigned(replicator_options_, std::string(protocol::kHubNode),
                                     "/federation/v1/stats", SignStats(*report, *key_), 10000);
  if (!sent.ok()) spdlog::info("statistics not delivered: {}", sent.status().message());
}

Status NodeContext::Start() {
  const NodeConfig& c = config_;
  // Before serving: take back this node's own events other nodes hold beyond its log (after a
  // restore from backup), and sign nothing while others have seen more of it than it holds, so
  // no seq is ever signed twice.
  const int64_t start_ms = Clock::Real()->NowMs();
  // Read before CheckLogWhole, which clears the mark once the log is known whole.
  auto restore_mark = store_->GetMeta(storage::kRestoredMetaKey);
  const bool restored = restore_mark.ok() && restore_mark->has_value() && !(*restore_mark)->empty();
  HttpApi::InitThreadPool(c.http_threads);  // before any cpprestsdk client runs
  if (!c.witnesses.empty()) {
    std::vector<federation::WitnessEndpoint> endpoints;
    for (const auto& [url, vk] : c.witnesses) endpoints.push_back({url, vk});
    witness_client_ = std::make_unique<federation::WitnessClient>(
        log_.get(), std::move(endpoints), [this](uint64_t size, const std::string& url) {
          uint64_t seen = witness_ahead_.load();
          while (size > seen && !witness_ahead_.compare_exchange_weak(seen, size)) {
          }
          if (size > service_->next_seq() && service_->log_behind().empty()) {
            service_->SetLogBehind("witness " + url + " cosigned size " + std::to_string(size) +
                                   ", this node holds " + std::to_string(service_->next_seq()));
          }
        });
  }
  CheckLogWhole();

  api_ = std::make_unique<HttpApi>(service_.get(), c, log_.get(),
                                   crypto::VerifierKeyString(c.origin, key_->public_key()),
                                   witness_.get(), store_.get());
  api_->SetFederation(&directory_, replicator_.get(), start_ms);
  metrics_->SetSources(MetricSources{
      .checkpoint =
          [this] {
            auto cp = log_->checkpoint();
            return std::pair<uint64_t, int64_t>(cp.size, cp.time_ms);
          },
      .last_cosignature_ms = [this] { return log_->last_cosignature_ms(); },
      .outbox =
          [this] {
            std::vector<MetricSources::Destination> out;
            auto rows = store_->Deliveries();
            if (!rows.ok()) return out;
            for (const auto& d : *rows) {
              out.push_back(
                  {d.destination, d.backlog, d.oldest_pending_ms, d.failing_since_ms > 0});
            }
            return out;
          },
      .manifest =
          [this] {
            auto m = directory_.Get();
            return m ? MetricSources::Manifest{m->version(), m->issued_ms(),
                                               protocol::ExpiresMs(*m)}
                     : MetricSources::Manifest{};
          },
      .manifest_refused =
          [this] {
            auto why = store_->GetMeta(federation::kManifestRefusedMetaKey);
            return why.ok() && !why->value_or("").empty();
          },
      .store_state =
          [this] {
            Status h = store_->Health();
            return h.ok() ? 0 : h.code() == Status::Code::kNoSpace ? 1 : 2;
          },
      .next_seq = [this] { return service_->next_seq(); },
      .log_behind = [this] { return !service_->log_behind().empty(); },
  });
  api_->SetMetrics(metrics_.get());
  LAPOR_RETURN_IF_ERROR(api_->Start(host_, port_));
  started_ = true;
  spdlog::info("node {} serving http://{}:{}/ (next seq {})", c.node_id, host_, api_->port(),
               service_->next_seq());
  if (c.request_window_ms != federation::kRequestWindowMs) {
    spdlog::warn(
        "request_window_ms is {}: other nodes' signed requests are accepted up to that far from "
        "this node's clock, and their nonces kept as long (the default, {}, is right for a real "
        "clock)",
        c.request_window_ms, federation::kRequestWindowMs);
  }

  // SLA loop: reload the holiday calendar, escalate missed deadlines, auto-complete.
  sla_ =
      std::make_unique<Periodic>("lapor-sla", std::chrono::milliseconds(c.sla_interval_ms), [this] {
        // Parsed again only when holidays.txt changed (a stat per turn, not a parse).
        if (const std::string stamp = FileStamp(data_.HolidaysPath()); stamp != holidays_stamp_) {
          auto cal = protocol::WorkingCalendar::LoadWithNational(data_.HolidaysPath(),
                                                                 config_.utc_offset_minutes);
          if (cal.ok()) {
            holidays_stamp_ = stamp;
            service_->SetCalendar(
                std::make_shared<const protocol::WorkingCalendar>(std::move(*cal)));
          } else {
            spdlog::warn("holiday calendar not reloaded: {}", cal.status().ToString());
          }
        }
        auto n = service_->RunSla();
        if (!n.ok()) {
          spdlog::error("SLA run failed: {}", n.status().ToString());
        } else if (*n > 0) {
          spdlog::info("SLA: recorded {} escalation/auto-completion events", *n);
        }
      });
  sla_->Start();
  // Retention: personal data of closed cases erased everywhere after retention_days.
  retention_ = std::make_unique<Periodic>("lapor-retention",
                                          std::chrono::milliseconds(c.retention_interval_ms),
                                          [this] { RunRetention(); });
  retention_->Start();
  replicator_->Start();
  // In the background: a peer that is down must not hold up the start.
  resend_ = std::thread([this, restored] {
    SetThreadName("lapor-resend");
    const int asked =
        federation::AskPeersToResend(replicator_options_, restored || log_was_behind_);
    if (asked > 0) spdlog::info("catch-up: asked {} peer(s) to resend", asked);
  });
  // Statistics for the national aggregate: counts only, signed, to the hub; the first at start,
  // so that a node restarted more often than the interval still reports.
  stats_ = std::make_unique<Periodic>(
      "lapor-stats", std::chrono::milliseconds(c.stats_interval_ms), [this] { SendStats(); },
      /*run_first=*/true);
  stats_->Start();
  // Another process stores a manifest only on the hub (its `federation` commands): the hub looks
  // every 200 ms. A member's manifest client loads what it stores at once, so a member looks
  // only as a safety net (and for the manifest's expiry).
  const int reload_ms = c.jurisdiction == protocol::kNationalHub
                            ? std::min(c.manifest_interval_ms, 200)
                            : std::min(c.manifest_interval_ms, kMemberReloadMs);
  manifest_reload_ =
      std::make_unique<Periodic>("lapor-dirreload", std::chrono::milliseconds(reload_ms), [this] {
        ReloadManifestIfChanged();
        SayIfManifestExpired();
      });
  manifest_reload_->Start();
  // The hub re-issues its manifest before it goes stale (members alert on a stale one).
  if (c.jurisdiction == protocol::kNationalHub) {
    reissue_ = std::make_unique<Periodic>(
        "lapor-reissue",
        std::chrono::milliseconds(std::clamp<int64_t>(c.manifest_validity_ms / 10, 100, 60000)),
        [this] { ReissueManifest(); }, /*run_first=*/true);
    reissue_->Start();
  }

  if (!c.hub_url.empty() && !c.hub_key.empty()) {
    manifest_client_ = std::make_unique<federation::ManifestClient>(
        store_.get(), c.hub_url, *crypto::HexDecode(c.hub_key), c.manifest_interval_ms,
        [this] { LoadManifest(); });
    manifest_client_->Start();
  }
  if (witness_client_) witness_client_->Start();
  whole_ =
      std::make_unique<Periodic>("lapor-whole", std::chrono::milliseconds(kWholeCheckMs), [this] {
        if (!service_->log_behind().empty()) CheckLogWhole();
      });
  whole_->Start();

  // Log loop: a new checkpoint within 250 ms of new events becoming durable (woken by the
  // store's commits; see Open).
  integrator_->Start();

  // A failed store refuses every write from then on: stop, so the supervisor restarts the node
  // from what is durable (recovery is the normal start path). A full disk is not a failure: the
  // store refuses writes and serves reads, and writes resume here once the data folder has room.
  health_ = std::make_unique<Periodic>("lapor-health", std::chrono::milliseconds(1000), [this] {
    Status h = store_->Health();
    // systemd's watchdog (WatchdogSec): pinged while the node is alive and not failed.
    if (h.ok() || h.code() == Status::Code::kNoSpace) sd_notify(0, "WATCHDOG=1");
    if (h.ok()) return;
    if (h.code() == Status::Code::kNoSpace) return WhileDiskFull(h);
    if (store_failed_.exchange(true)) return;
    spdlog::critical("{}: stopping so that the node restarts from disk", h.message());
    ::kill(::getpid(), SIGTERM);
  });
  health_->Start();
  // Under systemd (Type=notify): serving from now on. Without NOTIFY_SOCKET this does nothing.
  sd_notifyf(0, "READY=1\nSTATUS=serving http://%s:%d/ as node %s", host_.c_str(), api_->port(),
             c.node_id.c_str());
  return Status::Ok();
}

void NodeContext::RunRetention() {
  const NodeConfig& c = config_;
  constexpr double kDayMs = 86400000.0;
  auto report = service_->RunRetention(static_cast<int64_t>(c.retention_days * kDayMs),
                                       static_cast<int64_t>(c.retention_warn_days * kDayMs));
  if (!report.ok()) return spdlog::error("retention: {}", report.status().ToString());
  metrics_->SetRetentionDueSoon(report->due_soon);
  if (report->erased > 0) {
    metrics_->CountErasures("retention", report->erased);
    spdlog::info(
        "retention: personal data of {} case(s) closed over {} days ago erased (signed erasures; "
        "every party erases its copies)",
        report->erased, c.retention_days);
  }
  if (report->due_soon != retention_warned_) {
    retention_warned_ = report->due_soon;
    if (report->due_soon > 0) {
      spdlog::warn(
          "retention: the personal data of {} closed case(s) will be erased within {} days, the "
          "first ({}) in {} hours; keep what must be kept before then (node.json retention_days)",
          report->due_soon, c.retention_warn_days, report->first_due_case,
          (report->first_due_ms - Clock::Real()->NowMs()) / 3600000);
    }
  }
}

void NodeContext::CheckLogWhole() {
  federation::CatchUpReport peers;
  auto restored = store_->GetMeta(storage::kRestoredMetaKey);
  const bool was_restored = restored.ok() && restored->has_value() && !(*restored)->empty();
  auto catch_up = [&](bool every_peer) {
    if (auto r =
            federation::CatchUpAtStart(replicator_options_, service_.get(), &peers, every_peer);
        !r.ok()) {
      spdlog::error("catch-up failed: {}", r.status().ToString());
    }
    if (auto size = log_->Integrate(); !size.ok()) {  // the recovered events into the checkpoint
      spdlog::error("log integration failed: {}", size.status().ToString());
    } else {
      replicator_->CheckpointAdvanced(*size);
    }
  };
  // Every peer once the log is known to be behind (or was restored): any of them may hold an
  // event the hub has not received.
  const bool every_peer = was_restored || log_was_behind_ || !service_->log_behind().empty();
  catch_up(every_peer);
  federation::WitnessProbe witnesses;
  if (witness_client_) witnesses = witness_client_->Probe();
  const uint64_t ahead = witness_ahead_.load();
  if (!every_peer &&
      std::max({ahead, witnesses.highest_known, peers.highest_seen}) > service_->next_seq()) {
    spdlog::warn("catch-up: this node's log is behind what others have seen: asking every peer");
    const uint64_t seen = peers.highest_seen;
    const std::string from = peers.highest_from;
    catch_up(true);
    if (seen > peers.highest_seen) {
      peers.highest_seen = seen;
      peers.highest_from = from;
    }
  }
  const uint64_t held = service_->next_seq();
  uint64_t known = peers.highest_seen;
  std::string source = "node " + peers.highest_from + " holds its event of seq " +
                       std::to_string(peers.highest_seen == 0 ? 0 : peers.highest_seen - 1);
  if (std::max(ahead, witnesses.highest_known) > known) {
    known = std::max(ahead, witnesses.highest_known);
    source = "a witness (" +
             (witnesses.highest_url.empty() ? std::string("earlier") : witnesses.highest_url) +
             ") cosigned its checkpoint of size " + std::to_string(known);
  }
  auto m = directory_.Get();
  const bool has_peers = m && m->members_size() > 1;
  const bool heard = peers.hub_answered || witnesses.answered > 0 ||
                     (config_.node_id == protocol::kHubNode && peers.answered > 0) ||
                     (!has_peers && config_.witnesses.empty());
  std::string reason;
  if (known > held) {
    reason = "it holds seq 0-" + std::to_string(held == 0 ? 0 : held - 1) + ", but " + source +
             ": seq " + std::to_string(held) + "-" + std::to_string(known - 1) +
             " are missing here and no other node holds seq " + std::to_string(held);
  } else if (was_restored && !heard) {
    reason =
        "restored from a backup, and neither the hub nor a witness has answered yet: "
        "nothing tells how far the log went";
  }
  // Own events recovered from others, or a log behind what others saw: this folder is older
  // than the node's history (a restore, with or without `lapor-node restore`).
  if (peers.recovered > 0 || !reason.empty()) log_was_behind_ = true;
  service_->SetLogBehind(reason);
  if (reason.empty() && was_restored) {
    (void)store_->SetMeta(storage::kRestoredMetaKey, "");
    spdlog::warn("restored from a backup: no other node has seen more of this log (next seq {})",
                 held);
  }
  if (reason == behind_said_) return;
  behind_said_ = reason;
  if (known > held) {  // for `lapor-node log continue`, if the missing seqs never come back
    // Only ever raised: a later check that hears from fewer nodes must not lower it.
    auto recorded = store_->GetMeta(storage::kLogSeenMetaKey);
    const uint64_t before = recorded.ok() && recorded->has_value()
                                ? std::strtoull((*recorded)->c_str(), nullptr, 10)
                                : 0;
    if (known > before) {
      if (Status s =
              store_->SetMeta(storage::kLogSeenMetaKey, std::to_string(known) + " " + source);
          !s.ok()) {
        spdlog::error("could not record how far others have seen the log: {}", s.ToString());
      }
    }
  }
  if (!reason.empty()) {
    spdlog::critical(
        "this node signs nothing (new complaints and actions get 503) while {}. Restore a newer "
        "backup if there is one, or bring back the node or witness that holds the missing "
        "events; it checks again every {} s. Only if they are lost for good: stop the node and "
        "run `lapor-node log continue` (docs/OPERATIONS.md, Backup and restore)",
        reason, kWholeCheckMs / 1000);
    return;
  }
  spdlog::warn("this node's log is whole (next seq {}{}): it signs again", held,
               peers.recovered > 0
                   ? ", " + std::to_string(peers.recovered) + " event(s) recovered from other nodes"
                   : std::string());
}

void NodeContext::WhileDiskFull(const Status& why) {
  const uint64_t free = FreeBytes(data_.path());
  if (!disk_full_logged_) {
    disk_full_logged_ = true;
    spdlog::critical(
        "{} ({} MiB free in {}): refusing writes (503), serving reads; writes resume by "
        "themselves once {} MiB are free",
        why.message(), free >> 20, data_.path(), kResumeFreeBytes >> 20);
  }
  if (free < kResumeFreeBytes) return;
  Status resumed = service_->ResumeWrites();
  if (!resumed.ok()) return;  // writes still being answered: the next tick tries again
  disk_full_logged_ = false;
  spdlog::warn("{} MiB free in {}: writes resumed", free >> 20, data_.path());
}

Status NodeContext::Stop() {
  if (!started_) return store_->Health();
  started_ = false;
  sd_notify(0, "STOPPING=1\nSTATUS=draining requests, then stopping");
  health_->Stop();
  if (whole_) whole_->Stop();
  // Drain, not close: the server keeps answering 503 until the process exits (or the context is
  // destroyed), so a client that comes late learns the node is stopping.
  api_->Drain();
  if (resend_.joinable()) resend_.join();
  replicator_->Stop();
  manifest_reload_->Stop();
  if (reissue_) reissue_->Stop();
  stats_->Stop();
  integrator_->Stop();  // before the witness client it wakes
  witness_client_.reset();
  manifest_client_.reset();
  sla_->Stop();
  retention_->Stop();
  if (auto size = log_->Integrate(); !size.ok()) {
    spdlog::error("final log integration failed: {}", size.status().ToString());
  }
  store_->Close();
  Status health = store_->Health();
  // Read-only on a full disk is no failure: every acknowledged write is stored.
  if (health.code() == Status::Code::kNoSpace) return Status::Ok();
  if (health.ok() && store_failed_.load()) return Status::IOError("the store failed");
  return health;
}

}  // namespace lapor::node
