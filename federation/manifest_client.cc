#include "federation/manifest_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

#include "base/clock.h"
#include "base/periodic.h"
#include "federation/peer_client.h"
#include "lapor/v1/event.pb.h"
#include "protocol/manifest.h"

namespace lapor::federation {
namespace {

// Meta key: the members this node saw removed from the manifests it took (a serialized Manifest
// holding only `members`, with the keys they had). A member the hub adds again is a key change
// like any other: its keys must be ones the node knew for it, or vouched for (else a hub could
// replace a member's key in two steps, a removal and an addition).
constexpr char kFormerMembersMetaKey[] = "manifest_former_members";

// The manifest loop's turn: interval_ms split into equal turns of at most 5 s, so that a fetch
// comes every interval_ms (not at the next multiple of 5 s).
int TurnMs(int interval_ms) {
  const int turns = std::max(1, (interval_ms + 4999) / 5000);
  return std::max(1, interval_ms / turns);
}

}  // namespace

struct ManifestClient::Impl {
  storage::Store* store;
  std::string hub_url, hub_key;
  std::function<void()> on_accept;
  std::unique_ptr<Periodic> loop;

  int interval_ms = 60000;
  int64_t last_fetch_ms = 0;  // of the last fetch that reached the hub (loop thread only)
  // The version stored (loop thread only; 0: not known yet). Only this client stores a member's
  // manifest, so it stays true between fetches.
  uint64_t held_version = 0;

  // Runs in turns of at most 5 s that divide interval_ms evenly (TurnMs): fetches when
  // interval_ms has passed since the hub last answered, and at every turn while the hub has not
  // answered yet (a node started before its hub).
  void Tick() {
    const int64_t now = Clock::Real()->NowMs();
    if (last_fetch_ms != 0 && now - last_fetch_ms < interval_ms) return;
    if (FetchOnce()) last_fetch_ms = now;
  }

  // Whether the hub answered.
  bool FetchOnce() {
    std::string envelope;
    try {
      web::http::client::http_client client(hub_url, PeerClientConfig(std::chrono::seconds(5)));
      web::http::http_request get(web::http::methods::GET);
      get.set_request_uri("/federation/v1/manifest");
      // Unchanged (304): nothing to read, check or store.
      if (held_version > 0)
        get.headers().add("If-None-Match", protocol::ManifestETag(held_version));
      auto resp = client.request(get).get();
      auto bytes = resp.extract_vector().get();
      if (resp.status_code() == 304 && held_version > 0) return true;
      if (resp.status_code() != 200) {
        spdlog::warn("manifest fetch: HTTP {}", resp.status_code());
        return false;
      }
      envelope.assign(bytes.begin(), bytes.end());
    } catch (const std::exception& e) {
      spdlog::warn("manifest fetch: hub unreachable ({}); keeping the last good manifest",
                   e.what());
      return false;
    }
    uint64_t held = 0;
    std::optional<v1::Manifest> held_manifest;
    auto current = store->GetMeta(storage::kManifestMetaKey);
    if (current.ok() && current->has_value()) {
      auto m = protocol::OpenManifest(**current, hub_key);
      if (m.ok()) {
        held = m->version();
        held_manifest = std::move(*m);
      }
    }
    auto accepted = protocol::AcceptManifest(envelope, hub_key, held);
    v1::Manifest former = FormerMembers();
    if (accepted.ok() && held_manifest && accepted->version() > held) {
      // A key the hub lists for a member without that member's consent is the hub (or whoever
      // holds its key) taking the member's place: keep the manifest held, and say so. Members
      // removed earlier count as known, with the keys they had.
      v1::Manifest known = *held_manifest;
      for (const auto& m : former.members()) {
        if (protocol::FindMember(known, m.jurisdiction()) == nullptr) *known.add_members() = m;
      }
      if (Status s = protocol::VerifyKeyChanges(known, *accepted, Clock::Real()->NowMs());
          !s.ok()) {
        accepted = s;
      }
    }
    held_version = held;
    if (!accepted.ok()) {
      spdlog::error("manifest refused: {}; keeping version {}", accepted.status().ToString(), held);
      SetRefused(accepted.status().message());
      return true;
    }
    SetRefused("");
    if (accepted->version() == held && current.ok() && current->has_value()) return true;
    // The members this manifest removes are remembered before it is stored (a crash between
    // the two leaves a member remembered, never one forgotten).
    if (held_manifest && RememberRemoved(*held_manifest, *accepted, &former)) {
      if (Status s = store->SetMeta(kFormerMembersMetaKey, former.SerializeAsString()); !s.ok()) {
        spdlog::error("storing the removed members: {}", s.ToString());
        return false;
      }
    }
    if (Status s = store->SetMeta(storage::kManifestMetaKey, envelope); !s.ok()) {
      spdlog::error("storing the manifest: {}", s.ToString());
      return false;
    }
    held_version = accepted->version();
    spdlog::info("federation manifest version {} accepted ({} members)", accepted->version(),
                 accepted->members_size());
    if (on_accept) on_accept();
    return true;
  }

  v1::Manifest FormerMembers() {
    v1::Manifest former;
    auto blob = store->GetMeta(kFormerMembersMetaKey);
    if (blob.ok() && blob->has_value()) (void)former.ParseFromString(**blob);
    return former;
  }

  // Adds to `former` the members of `held` that `next` no longer lists (their keys merged into
  // an entry already there); whether anything was added.
  static bool RememberRemoved(const v1::Manifest& held, const v1::Manifest& next,
                              v1::Manifest* former) {
    bool changed = false;
    for (const auto& m : held.members()) {
      if (protocol::FindMember(next, m.jurisdiction()) != nullptr) continue;
      v1::Member* entry = nullptr;
      for (auto& f : *former->mutable_members()) {
        if (f.jurisdiction() == m.jurisdiction()) entry = &f;
      }
      if (entry == nullptr) {
        *former->add_members() = m;
        changed = true;
        continue;
      }
      for (const auto& k : m.keys()) {
        bool known = false;
        for (const auto& fk : entry->keys()) known = known || fk.public_key() == k.public_key();
        if (!known) {
          *entry->add_keys() = k;
          changed = true;
        }
      }
    }
    return changed;
  }

  // Records why the hub's manifest was refused ("": it was not), writing only on a change.
  void SetRefused(const std::string& why) {
    auto stored = store->GetMeta(kManifestRefusedMetaKey);
    if (stored.ok() && stored->value_or("") == why) return;
    if (Status s = store->SetMeta(kManifestRefusedMetaKey, why); !s.ok()) {
      spdlog::error("recording the manifest refusal: {}", s.ToString());
    }
  }
};

ManifestClient::ManifestClient(storage::Store* store, std::string hub_url, std::string hub_key,
                               int interval_ms, std::function<void()> on_accept)
    : impl_(new Impl) {
  impl_->store = store;
  impl_->on_accept = std::move(on_accept);
  impl_->hub_url = std::move(hub_url);
  impl_->hub_key = std::move(hub_key);
  impl_->interval_ms = interval_ms;
  impl_->loop = std::make_unique<Periodic>(
      "lapor-manifest", std::chrono::milliseconds(TurnMs(interval_ms)),
      [impl = impl_.get()] { impl->Tick(); },
      /*run_first=*/true);
}

void ManifestClient::Start() { impl_->loop->Start(); }

ManifestClient::~ManifestClient() { impl_->loop->Stop(); }

}  // namespace lapor::federation
