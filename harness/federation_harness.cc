#include "harness/federation_harness.h"

#include <algorithm>
#include <regex>
#include <set>
#include <stdexcept>

#include "crypto/encoding.h"
#include "harness/eventually.h"
#include "protocol/manifest.h"

namespace lapor::testing {

std::vector<std::string> EventHashes(const NodeProcess& node, const std::string& id,
                                     const std::string& token) {
  auto r = node.Get("/api/v1/complaints/" + id + "/events", token);
  std::vector<std::string> out;
  if (r.status != 200) return out;
  const nlohmann::json body = r.Json();
  for (const auto& e : body["events"]) out.push_back(e["hash"].get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}
namespace {

constexpr char kHub[] = "00";

std::string LoopbackUrl(int port) { return "http://127.0.0.1:" + std::to_string(port); }

// "manifest version N published (...)" -> N; 0 if absent.
uint64_t PublishedVersion(const std::string& output) {
  static const std::regex re("version ([0-9]+)");
  std::smatch m;
  return std::regex_search(output, m, re) ? std::stoull(m[1].str()) : 0;
}

// A free port no other node of this federation has taken.
int UniquePort(std::set<int>* taken) {
  for (int i = 0; i < 100; ++i) {
    int p = FreePort();
    if (p > 0 && taken->insert(p).second) return p;
  }
  throw std::runtime_error("no free port");
}

}  // namespace

Federation::Federation(FederationOptions opts) : opts_(std::move(opts)) {
  root_ = MakeTempDir("lapor-federation");
  std::set<int> ports;

  // The hub. Its node.json `listen` is the URL the first published manifest lists for "00".
  order_.push_back(kHub);
  Member& hub_member = members_[kHub];
  hub_member.process = std::make_unique<NodeProcess>(root_ + "/" + kHub);
  hub_member.port = UniquePort(&ports);
  NodeProcess& hub = *hub_member.process;
  hub.Init(kHub);
  hub.SetPort(hub_member.port);
  hub.SetConfig("listen", "127.0.0.1:" + std::to_string(hub_member.port));
  hub.Start();
  hub_key_hex_ = hub.PublicKeyHex();

  // The other nodes: init pinned to the hub, then listed in the hub's manifest.
  for (const auto& j : opts_.jurisdictions) {
    if (j == kHub) continue;
    if (members_.count(j)) throw std::runtime_error("jurisdiction " + j + " listed twice");
    order_.push_back(j);
    Member& m = members_[j];
    m.port = UniquePort(&ports);
    m.process = std::make_unique<NodeProcess>(root_ + "/" + j);
    NodeProcess& n = *m.process;
    n.SetPort(m.port);
    auto init = n.Cli({"init", "--data-dir", n.data_dir(), "--jurisdiction", j, "--listen",
                       "127.0.0.1:" + std::to_string(m.port), "--hub-key", hub_key_hex_,
                       "--hub-url", LoopbackUrl(hub_member.port)});
    if (init.exit_code != 0) throw std::runtime_error("init " + j + " failed: " + init.output);
    n.SetConfig("manifest_interval_ms", opts_.manifest_interval_ms);
    n.SetTestDefaults();  // as NodeProcess::Init
  }

  // The manifest: the first add-member publishes version 1 (the hub itself) and 2 (the member);
  // each later one version + 1.
  for (size_t i = 1; i < order_.size(); ++i) {
    const std::string& j = order_[i];
    auto add = hub.Cli({"federation", "add-member", "--data-dir", hub.data_dir(), "--jurisdiction",
                        j, "--url", LoopbackUrl(members_[j].port), "--key",
                        members_[j].process->PublicKeyHex()});
    if (add.exit_code != 0) throw std::runtime_error("add-member " + j + " failed: " + add.output);
    manifest_version_ = PublishedVersion(add.output);
    if (manifest_version_ != i + 1) {
      throw std::runtime_error("add-member " + j + ": expected version " + std::to_string(i + 1) +
                               ", got: " + add.output);
    }
  }

  // Operators, then every node up.
  for (const auto& j : order_) {
    Member& m = members_[j];
    m.admin_token = m.process->AddOperator("admin-" + j, "admin");
    m.auditor_token = m.process->AddOperator("auditor-" + j, "auditor");
  }
  for (const auto& j : order_) {
    if (!members_[j].process->running()) members_[j].process->Start();
  }

  // Every node serves the final manifest, signed by the hub (with no member, there is none).
  if (manifest_version_ > 0) {
    for (const auto& j : order_) {
      auto served =
          Eventually("node " + j + " serves manifest version " + std::to_string(manifest_version_),
                     [&] { return ServedManifestVersion(j) == manifest_version_; });
      if (!served) {
        throw std::runtime_error(std::string(served.message()) + " (serves " +
                                 std::to_string(ServedManifestVersion(j)) + "); see " +
                                 members_[j].process->data_dir() + "/node.log");
      }
    }
    // `add-member` listed the hub itself, from its node.json `listen`.
    auto served = protocol::OpenManifest(hub.Get("/federation/v1/manifest").body,
                                         *crypto::HexDecode(hub_key_hex_));
    const v1::Member* self = served.ok() ? protocol::FindMember(*served, kHub) : nullptr;
    if (self == nullptr || self->base_url() != LoopbackUrl(hub_member.port)) {
      throw std::runtime_error("the manifest does not list the hub at " +
                               LoopbackUrl(hub_member.port));
    }
  }
}

Federation::~Federation() {
  for (auto& [j, m] : members_) {
    if (m.process) m.process->Kill9();
  }
}

Federation::Member& Federation::member(const std::string& jurisdiction) {
  auto it = members_.find(jurisdiction);
  if (it == members_.end()) throw std::out_of_range("no node " + jurisdiction + " in federation");
  return it->second;
}

const Federation::Member& Federation::member(const std::string& jurisdiction) const {
  auto it = members_.find(jurisdiction);
  if (it == members_.end()) throw std::out_of_range("no node " + jurisdiction + " in federation");
  return it->second;
}

NodeProcess& Federation::hub() { return *member(kHub).process; }

NodeProcess& Federation::node(const std::string& jurisdiction) {
  return *member(jurisdiction).process;
}

std::vector<std::string> Federation::jurisdictions() const { return order_; }

const std::string& Federation::admin_token(const std::string& jurisdiction) const {
  return member(jurisdiction).admin_token;
}

const std::string& Federation::auditor_token(const std::string& jurisdiction) const {
  return member(jurisdiction).auditor_token;
}

std::string Federation::liaison_token(const std::string& jurisdiction, const std::string& agency) {
  Member& m = member(jurisdiction);
  auto it = m.liaison_tokens.find(agency);
  if (it != m.liaison_tokens.end()) return it->second;
  std::string token =
      m.process->AddOperator("liaison-" + agency + "-" + jurisdiction, "liaison", agency);
  m.liaison_tokens.emplace(agency, token);
  return token;
}

int Federation::port(const std::string& jurisdiction) const { return member(jurisdiction).port; }

std::string Federation::url(const std::string& jurisdiction) const {
  return LoopbackUrl(port(jurisdiction));
}

FaultProxy& Federation::Proxy(const std::string& from, const std::string& to) {
  Member& src = member(from);
  const Member& dst = member(to);
  auto key = std::make_pair(from, to);
  auto it = proxies_.find(key);
  if (it != proxies_.end()) return *it->second;
  auto proxy = std::make_unique<FaultProxy>(dst.port);
  nlohmann::json peers = src.process->Config().value("peer_urls", nlohmann::json::object());
  peers[to] = LoopbackUrl(proxy->port());
  src.process->SetConfig("peer_urls", peers);
  FaultProxy& ref = *proxy;
  proxies_.emplace(key, std::move(proxy));
  if (src.process->running()) {
    src.process->Stop();
    src.process->Start();
  }
  return ref;
}

uint64_t Federation::ServedManifestVersion(const std::string& jurisdiction) const {
  auto r = member(jurisdiction).process->Get("/federation/v1/manifest");
  if (r.status != 200) return 0;
  auto key = crypto::HexDecode(hub_key_hex_);
  if (!key) return 0;
  auto m = protocol::OpenManifest(r.body, *key);
  return m.ok() ? m->version() : 0;
}

}  // namespace lapor::testing
