#include "node/stats.h"

#include <map>
#include <tuple>

namespace lapor::node {

Result<v1::StatsReport> BuildStats(storage::Store* store, const std::string& node_id,
                                   int64_t now_ms) {
  std::map<std::pair<std::string, std::string>, uint64_t> counts;
  v1::StatsReport report;
  report.set_node_id(node_id);
  report.set_time_ms(now_ms);
  uint64_t total = 0, breaches = 0;
  Status s = store->ScanCases([&](const v1::CaseState& c) {
    if (c.owner_node() != node_id) return true;  // another node counts the cases it owns
    ++total;
    if (c.escalated()) ++breaches;
    ++counts[{"status", c.status()}];
    ++counts[{"report_type", c.report_type()}];
    ++counts[{"category", c.category()}];
    ++counts[{"region_code", c.region_code()}];
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& [key, n] : counts) {
    auto* c = report.add_counts();
    c->set_dimension(key.first);
    c->set_value(key.second);
    c->set_count(n);
  }
  report.set_total_cases(total);
  report.set_sla_breaches(breaches);
  return report;
}

std::string SignStats(const v1::StatsReport& report, const crypto::SigningKey& key) {
  v1::Envelope env;
  env.set_payload_type(std::string(kStatsPayloadType));
  report.SerializeToString(env.mutable_payload());
  auto* sig = env.add_signatures();
  sig->set_keyid(key.KeyId());
  sig->set_sig(key.Sign(crypto::PreAuthEncoding(kStatsPayloadType, env.payload())));
  return env.SerializeAsString();
}

Result<v1::StatsReport> OpenStats(std::string_view envelope, std::string_view public_key) {
  v1::Envelope env;
  if (!env.ParseFromArray(envelope.data(), static_cast<int>(envelope.size())) ||
      env.payload_type() != kStatsPayloadType) {
    return Status::InvalidArgument("not a stats envelope", "body");
  }
  const std::string pae = crypto::PreAuthEncoding(env.payload_type(), env.payload());
  bool ok = false;
  for (const auto& sig : env.signatures()) {
    ok = ok || crypto::VerifySignature(public_key, pae, sig.sig());
  }
  if (!ok) return Status::PermissionDenied("the stats report is not signed by the sender");
  v1::StatsReport report;
  if (!report.ParseFromString(env.payload())) {
    return Status::InvalidArgument("stats payload does not parse", "body");
  }
  return report;
}

}  // namespace lapor::node
