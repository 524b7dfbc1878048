// The node's Prometheus metrics, served at GET /metrics (text exposition format 0.0.4) through
// prometheus-cpp's registry and serializer. Counters and histograms are updated where things
// happen (the HTTP edge, the store's group commits, the SLA loop); the state gauges (log,
// witnesses, outbox, manifest, store) are read from their owners at each scrape.
//
// Nothing personal or secret is ever a label or a value: labels are route templates (never a
// tracking id or a query), status codes, node ids of destinations, agency names and deadline
// kinds. docs/OPERATIONS.md lists every metric and deploy/prometheus/lapor-rules.yml the alerts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace lapor::node {

// The route template of a request path's segments, e.g. "/api/v1/complaints/{id}/actions";
// "other" for a path no surface serves (so a client cannot invent label values).
std::string RouteOf(const std::vector<std::string>& segments);

// What the scrape reads from the node's parts (each may be left empty; all thread-safe).
struct MetricSources {
  // The log's latest checkpoint: size and when it was signed (ms; 0 if none yet).
  std::function<std::pair<uint64_t, int64_t>()> checkpoint;
  // When a witness last cosigned this node's log (ms; 0 if never, or no witness configured).
  std::function<int64_t()> last_cosignature_ms;
  struct Destination {
    std::string node;
    int64_t backlog = 0;
    int64_t oldest_pending_ms = 0;  // 0 if nothing is pending
    bool failing = false;
  };
  std::function<std::vector<Destination>()> outbox;
  // The manifest in use (version 0 if the node has none).
  struct Manifest {
    uint64_t version = 0;
    int64_t issued_ms = 0;
    int64_t expires_ms = 0;  // protocol::ExpiresMs
  };
  std::function<Manifest()> manifest;
  // True while the last manifest the hub served was refused (the node keeps the one it holds).
  std::function<bool()> manifest_refused;
  // 0 writable, 1 read-only (disk full), 2 failed.
  std::function<int()> store_state;
  std::function<uint64_t()> next_seq;
  // True while the node signs nothing because other nodes have seen more of its log.
  std::function<bool()> log_behind;
};

class NodeMetrics {
 public:
  NodeMetrics();
  ~NodeMetrics();
  NodeMetrics(const NodeMetrics&) = delete;
  NodeMetrics& operator=(const NodeMetrics&) = delete;

  // A request answered: its route template (RouteOf), HTTP status, and seconds from the parsed
  // request to its reply. A 401 also counts as an authentication failure of that route.
  void ObserveRequest(const std::string& route, int status, double seconds);
  // A group commit of `writes` writes, `own_events` of them this node's events, that took
  // `seconds` (transaction and fsync); `ok` false if it failed.
  void ObserveCommit(size_t writes, size_t own_events, size_t foreign_events, double seconds,
                     bool ok);
  // A missed deadline escalated (the SLA loop): the case's agency ("" if none yet) and which
  // deadline ("verification", "response", ...).
  void CountEscalation(const std::string& agency, const std::string& deadline);
  // Erasures this node signed (EVENT_ERASED), by who asked: "admin" or "retention".
  void CountErasures(const std::string& by, int n);
  // Closed cases whose personal data the retention rule erases within the warning period.
  void SetRetentionDueSoon(int n);

  void SetSources(MetricSources sources);
  // The exposition text; `now_ms` for the ages.
  std::string Scrape(int64_t now_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lapor::node
