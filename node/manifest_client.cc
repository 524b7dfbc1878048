#include "node/manifest_client.h"

#include <spdlog/spdlog.h>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "federation/manifest.h"

namespace lapor::node {

struct ManifestClient::Impl {
  storage::Store* store;
  std::string hub_url, hub_key;
  int interval_ms;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;

  void FetchOnce() {
    std::string envelope;
    try {
      web::http::client::http_client_config cfg;
      cfg.set_timeout(std::chrono::seconds(5));
      web::http::client::http_client client(hub_url, cfg);
      auto resp = client.request(web::http::methods::GET, "/federation/v1/manifest").get();
      auto bytes = resp.extract_vector().get();
      if (resp.status_code() != 200) {
        spdlog::warn("manifest fetch: HTTP {}", resp.status_code());
        return;
      }
      envelope.assign(bytes.begin(), bytes.end());
    } catch (const std::exception& e) {
      spdlog::warn("manifest fetch: hub unreachable ({}); keeping the last good manifest",
                   e.what());
      return;
    }
    uint64_t held = 0;
    auto current = store->GetMeta(kManifestMetaKey);
    if (current.ok() && current->has_value()) {
      auto m = federation::OpenManifest(**current, hub_key);
      if (m.ok()) held = m->version();
    }
    auto accepted = federation::AcceptManifest(envelope, hub_key, held);
    if (!accepted.ok()) {
      spdlog::error("manifest refused: {}", accepted.status().ToString());
      return;
    }
    if (accepted->version() == held && current.ok() && current->has_value()) return;
    if (Status s = store->SetMeta(kManifestMetaKey, envelope); !s.ok()) {
      spdlog::error("storing the manifest: {}", s.ToString());
      return;
    }
    spdlog::info("federation manifest version {} accepted ({} members)", accepted->version(),
                 accepted->members_size());
  }

  void Loop() {
    FetchOnce();
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(interval_ms), [&] { return stopping; })) {
      lock.unlock();
      FetchOnce();
      lock.lock();
    }
  }
};

ManifestClient::ManifestClient(storage::Store* store, std::string hub_url, std::string hub_key,
                               int interval_ms)
    : impl_(new Impl) {
  impl_->store = store;
  impl_->hub_url = std::move(hub_url);
  impl_->hub_key = std::move(hub_key);
  impl_->interval_ms = interval_ms;
}

void ManifestClient::Start() {
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

ManifestClient::~ManifestClient() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace lapor::node
