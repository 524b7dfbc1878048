#include "node/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <utility>

#include "base/mutex.h"

namespace lapor::node {
namespace {

using prometheus::Histogram;

bool In(const std::string& s, std::initializer_list<const char*> set) {
  return std::any_of(set.begin(), set.end(), [&](const char* x) { return s == x; });
}

double Seconds(int64_t now_ms, int64_t then_ms) {
  return then_ms > 0 ? std::max<int64_t>(0, now_ms - then_ms) / 1000.0 : 0.0;
}

}  // namespace

std::string RouteOf(const std::vector<std::string>& s) {
  const size_t n = s.size();
  if (n == 1 && In(s[0], {"healthz", "metrics"})) return "/" + s[0];
  if (n == 0) return "/";  // the pages (node/page_router.h)
  if (n == 1 && In(s[0], {"lapor", "lacak", "kerja", "dashboard"})) return "/" + s[0];
  if (n == 2 && s[0] == "assets") return "/assets";
  if (n >= 2 && s[0] == "api" && s[1] == "v1") {
    if (n == 3 &&
        In(s[2], {"complaints", "access-log", "session", "attachments", "search", "stats"})) {
      return "/api/v1/" + s[2];
    }
    if (s[2] != "complaints") return "other";
    if (n == 4) return "/api/v1/complaints/{id}";
    if (n == 5 && In(s[4], {"actions", "events", "access-log", "receipt"})) {
      return "/api/v1/complaints/{id}/" + s[4];
    }
    if (n == 6 && s[4] == "attachments") return "/api/v1/complaints/{id}/attachments/{sha256}";
    return "other";
  }
  if (n == 3 && s[0] == "federation" && s[1] == "v1" &&
      In(s[2], {"events", "pull", "rewind", "manifest", "stats", "status", "alerts"})) {
    return "/federation/v1/" + s[2];
  }
  if (n == 3 && s[0] == "national" && s[1] == "v1" && In(s[2], {"stats", "evidence", "alerts"})) {
    return "/national/v1/" + s[2];
  }
  if (n >= 2 && s[0] == "log") {
    if (n == 2 && In(s[1], {"checkpoint", "vkey"})) return "/log/" + s[1];
    if (n == 3 && s[1] == "proof" && In(s[2], {"inclusion", "consistency"})) {
      return "/log/proof/" + s[2];
    }
    if (s[1] == "tile") return n > 2 && s[2] == "entries" ? "/log/tile/entries" : "/log/tile";
    return "other";
  }
  if (n == 2 && s[0] == "witness" && In(s[1], {"add-checkpoint", "vkey"}))
    return "/witness/" + s[1];
  return "other";
}

struct NodeMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("lapor_http_requests_total")
          .Help("HTTP requests answered, by route template and status code")
          .Register(*registry);
  prometheus::Family<Histogram>& latency =
      prometheus::BuildHistogram()
          .Name("lapor_http_request_duration_seconds")
          .Help("Time from a parsed request to its reply (a write's includes its group commit)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& auth_failures =
      prometheus::BuildCounter()
          .Name("lapor_auth_failures_total")
          .Help("Requests refused 401 (unknown token, wrong access code, bad member signature)")
          .Register(*registry);
  prometheus::Family<Histogram>& commit_writes =
      prometheus::BuildHistogram()
          .Name("lapor_commit_batch_writes")
          .Help("Writes per group commit (one transaction, one fsync)")
          .Register(*registry);
  prometheus::Family<Histogram>& commit_seconds =
      prometheus::BuildHistogram()
          .Name("lapor_commit_duration_seconds")
          .Help("Time of one group commit: the transaction and its fsync")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& commits = prometheus::BuildCounter()
                                                         .Name("lapor_commits_total")
                                                         .Help("Group commits, by result")
                                                         .Register(*registry);
  prometheus::Family<prometheus::Counter>& events =
      prometheus::BuildCounter()
          .Name("lapor_events_appended_total")
          .Help("Signed events made durable: this node's own (its log) and other nodes' (received)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& escalations =
      prometheus::BuildCounter()
          .Name("lapor_sla_escalations_total")
          .Help("Missed deadlines escalated, by agency and deadline")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& erasures =
      prometheus::BuildCounter()
          .Name("lapor_erasures_total")
          .Help("Erasures of personal data this node signed, by who asked (admin, retention)")
          .Register(*registry);
  prometheus::Gauge& retention_due_soon =
      prometheus::BuildGauge()
          .Name("lapor_retention_due_soon")
          .Help(
              "Closed cases whose personal data the retention rule erases within the warning "
              "period (node.json retention_warn_days)")
          .Register(*registry)
          .Add({});
  Histogram::BucketBoundaries latency_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,   0.25,   0.5,   1,    2.5,   5};
  Histogram::BucketBoundaries batch_buckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
  Histogram::BucketBoundaries fsync_buckets{0.0005, 0.001, 0.002, 0.005, 0.01,
                                            0.02,   0.05,  0.1,   0.25,  1};

  prometheus::Histogram& commit_writes_h = commit_writes.Add({}, batch_buckets);
  prometheus::Histogram& commit_seconds_h = commit_seconds.Add({}, fsync_buckets);
  prometheus::Counter& commits_ok = commits.Add({{"result", "ok"}});
  prometheus::Counter& commits_failed = commits.Add({{"result", "failed"}});
  prometheus::Counter& events_own = events.Add({{"author", "own"}});
  prometheus::Counter& events_foreign = events.Add({{"author", "other"}});

  // Gauges of state, set at each scrape; one family each so they carry their own help text.
  prometheus::Family<prometheus::Gauge>& Gauge(const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(*registry);
  }
  prometheus::Gauge& checkpoint_size =
      Gauge("lapor_log_checkpoint_size", "Entries in the log's latest signed checkpoint").Add({});
  prometheus::Gauge& checkpoint_age =
      Gauge("lapor_log_checkpoint_age_seconds", "Age of the log's latest signed checkpoint")
          .Add({});
  prometheus::Gauge& next_seq =
      Gauge("lapor_log_next_seq", "The seq this node's next event gets (events in its log)")
          .Add({});
  prometheus::Gauge& cosignature_age =
      Gauge("lapor_witness_cosignature_age_seconds",
            "Time since a witness last cosigned this node's log (-1: not since the node started)")
          .Add({});
  prometheus::Family<prometheus::Gauge>& backlog =
      Gauge("lapor_outbox_backlog", "Deliveries waiting for a destination node");
  prometheus::Family<prometheus::Gauge>& oldest =
      Gauge("lapor_outbox_oldest_undelivered_age_seconds",
            "Age of the oldest delivery still waiting for a destination (0 if none)");
  prometheus::Family<prometheus::Gauge>& failing =
      Gauge("lapor_outbox_failing", "1 while deliveries to a destination fail");
  prometheus::Gauge& manifest_version =
      Gauge("lapor_manifest_version", "Version of the federation manifest in use (0: none)")
          .Add({});
  prometheus::Gauge& manifest_age =
      Gauge("lapor_manifest_age_seconds", "Time since the manifest in use was issued").Add({});
  prometheus::Gauge& manifest_expires_in =
      Gauge("lapor_manifest_expires_in_seconds",
            "Time until the manifest in use goes stale (negative once past; 0: none)")
          .Add({});
  prometheus::Gauge& manifest_expired =
      Gauge("lapor_manifest_expired",
            "1 while the manifest in use is past its expiry (the node works on with it)")
          .Add({});
  prometheus::Gauge& manifest_refused =
      Gauge("lapor_manifest_refused",
            "1 while the last manifest the hub served was refused (bad signature, rollback, or a "
            "member key change the member did not vouch for)")
          .Add({});
  prometheus::Gauge& store_state =
      Gauge("lapor_store_state", "0 writable, 1 read-only (disk full), 2 failed").Add({});
  prometheus::Gauge& log_behind =
      Gauge("lapor_log_behind",
            "1 while the node signs nothing: other nodes have seen more of its log than it holds "
            "(restored from an old backup), or a restored node has not heard from the hub yet")
          .Add({});

  Mutex mu;
  MetricSources sources LAPOR_GUARDED_BY(mu);
  // Request series already made, so the hot path finds them without the family's lock order.
  Mutex series_mu;
  std::map<std::pair<std::string, int>, prometheus::Counter*> request_series
      LAPOR_GUARDED_BY(series_mu);
  std::map<std::string, Histogram*> latency_series LAPOR_GUARDED_BY(series_mu);
};

NodeMetrics::NodeMetrics() : impl_(std::make_unique<Impl>()) {}
NodeMetrics::~NodeMetrics() = default;

void NodeMetrics::ObserveRequest(const std::string& route, int status, double seconds) {
  prometheus::Counter* counter;
  Histogram* histogram;
  {
    MutexLock lock(impl_->series_mu);
    auto& c = impl_->request_series[{route, status}];
    if (c == nullptr) {
      c = &impl_->requests.Add({{"route", route}, {"code", std::to_string(status)}});
    }
    counter = c;
    auto& h = impl_->latency_series[route];
    if (h == nullptr) h = &impl_->latency.Add({{"route", route}}, impl_->latency_buckets);
    histogram = h;
  }
  counter->Increment();
  histogram->Observe(seconds);
  if (status == 401) impl_->auth_failures.Add({{"route", route}}).Increment();
}

void NodeMetrics::ObserveCommit(size_t writes, size_t own_events, size_t foreign_events,
                                double seconds, bool ok) {
  impl_->commit_writes_h.Observe(static_cast<double>(writes));
  impl_->commit_seconds_h.Observe(seconds);
  (ok ? impl_->commits_ok : impl_->commits_failed).Increment();
  if (!ok) return;
  impl_->events_own.Increment(static_cast<double>(own_events));
  impl_->events_foreign.Increment(static_cast<double>(foreign_events));
}

void NodeMetrics::CountEscalation(const std::string& agency, const std::string& deadline) {
  impl_->escalations
      .Add({{"agency", agency.empty() ? "unassigned" : agency}, {"deadline", deadline}})
      .Increment();
}

void NodeMetrics::CountErasures(const std::string& by, int n) {
  impl_->erasures.Add({{"by", by}}).Increment(n);
}

void NodeMetrics::SetRetentionDueSoon(int n) { impl_->retention_due_soon.Set(n); }

void NodeMetrics::SetSources(MetricSources sources) {
  MutexLock lock(impl_->mu);
  impl_->sources = std::move(sources);
}

std::string NodeMetrics::Scrape(int64_t now_ms) {
  Impl& m = *impl_;
  MetricSources s;
  {
    MutexLock lock(m.mu);
    s = m.sources;
  }
  if (s.checkpoint) {
    auto [size, time_ms] = s.checkpoint();
    m.checkpoint_size.Set(static_cast<double>(size));
    m.checkpoint_age.Set(Seconds(now_ms, time_ms));
  }
  if (s.next_seq) m.next_seq.Set(static_cast<double>(s.next_seq()));
  if (s.last_cosignature_ms) {
    const int64_t t = s.last_cosignature_ms();
    m.cosignature_age.Set(t > 0 ? Seconds(now_ms, t) : -1);
  }
  if (s.outbox) {
    for (const auto& d : s.outbox()) {
      m.backlog.Add({{"destination", d.node}}).Set(static_cast<double>(d.backlog));
      m.oldest.Add({{"destination", d.node}})
          .Set(d.backlog > 0 ? Seconds(now_ms, d.oldest_pending_ms) : 0.0);
      m.failing.Add({{"destination", d.node}}).Set(d.failing ? 1 : 0);
    }
  }
  if (s.manifest) {
    const MetricSources::Manifest held = s.manifest();
    m.manifest_version.Set(static_cast<double>(held.version));
    m.manifest_age.Set(held.version > 0 ? Seconds(now_ms, held.issued_ms) : 0.0);
    m.manifest_expires_in.Set(held.version > 0 ? (held.expires_ms - now_ms) / 1000.0 : 0.0);
    m.manifest_expired.Set(held.version > 0 && now_ms >= held.expires_ms ? 1 : 0);
  }
  if (s.manifest_refused) m.manifest_refused.Set(s.manifest_refused() ? 1 : 0);
  if (s.store_state) m.store_state.Set(s.store_state());
  if (s.log_behind) m.log_behind.Set(s.log_behind() ? 1 : 0);
  return prometheus::TextSerializer().Serialize(m.registry->Collect());
}

}  // namespace lapor::node
