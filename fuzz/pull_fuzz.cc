// The federation pull and rewind requests (/federation/v1/pull, /federation/v1/rewind) as a
// member sends them: any bytes parse as a PullRequest (or are refused) and are answered from a
// real store holding a few cases (node/pull_service.h). The first byte picks the message:
// even a PullRequest, odd a RewindRequest (whose one field is only clamped).
// Any input: a reply or a clear refusal, never a crash; a reply stays within what a member reads
// (federation::kMaxReplyBytes) and at most 1000 envelopes; a case's chain is only that case's.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/crypto.h"
#include "federation/replicator.h"
#include "lapor/v1/event.pb.h"
#include "node/case_service.h"
#include "node/pull_service.h"
#include "protocol/directory.h"
#include "protocol/envelope.h"
#include "protocol/manifest.h"
#include "storage/store.h"

namespace {

using namespace lapor;

struct World {
  std::unique_ptr<storage::Store> store;
  std::shared_ptr<const crypto::SigningKey> key;
  protocol::Directory directory;
  std::unique_ptr<node::CaseService> service;
  std::unique_ptr<node::PullService> pulls;
  std::string case_id;

  World() {
    crypto::Init();
    char dir[] = "/tmp/lapor-pull-fuzz.XXXXXX";
    if (::mkdtemp(dir) == nullptr) __builtin_trap();
    auto s = storage::Store::Open(std::string(dir) + "/lapor.db");
    if (!s.ok()) __builtin_trap();
    store = std::move(*s);
    key = std::make_shared<const crypto::SigningKey>(
        *crypto::SigningKey::FromSeed(std::string(32, 'p')));
    v1::Manifest m;
    (void)protocol::AddMember(&m, "00", "http://127.0.0.1:1",
                              crypto::SigningKey::FromSeed(std::string(32, 'h'))->public_key(), 0);
    (void)protocol::AddMember(&m, "32", "http://127.0.0.1:2", key->public_key(), 0);
    directory.Set(std::make_shared<const v1::Manifest>(m));
    node::CaseServiceOptions o;
    o.node_id = "32";
    o.jurisdiction = "32";
    o.key = key;
    o.sealing_key = std::string(32, 's');
    o.directory = &directory;
    auto svc =
        node::CaseService::Open(o, store.get(), std::make_shared<protocol::WorkingCalendar>());
    if (!svc.ok()) __builtin_trap();
    service = std::move(*svc);
    for (int i = 0; i < 5; ++i) {
      node::SubmitRequest r;
      r.title = "Sampah menumpuk " + std::to_string(i);
      r.description = "Sampah tidak diangkut dua minggu.";
      r.category = "kebersihan";
      r.report_type = "pengaduan";
      r.region_code = "32.04";
      auto res = service->Submit(r);
      if (!res.ok()) __builtin_trap();
      case_id = res->tracking_id;
    }
    pulls = std::make_unique<node::PullService>(service.get(), store.get(), nullptr);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    v1::RewindRequest rewind;
    if (!rewind.ParseFromString(rest)) return 0;
    // What the router passes on: never below zero whatever the value.
    const int64_t after = static_cast<int64_t>(rewind.from_outbox_id()) - 1;
    if (std::max<int64_t>(after, 0) < 0) __builtin_trap();
    return 0;
  }
  v1::PullRequest pull;
  if (!pull.ParseFromString(rest)) return 0;
  auto out = world->pulls->Pull(pull);
  if (!out.ok()) {
    if (out.status().message().empty()) __builtin_trap();
    return 0;
  }
  if (out->envelopes_size() > 1000) __builtin_trap();
  if (out->ByteSizeLong() > federation::kMaxReplyBytes) __builtin_trap();
  if (!pull.case_id().empty()) {
    for (const auto& env : out->envelopes()) {
      protocol::EventEnvelope e;
      if (!protocol::ParseEventEnvelope(env, &e).ok()) __builtin_trap();
      if (e.event.case_id() != pull.case_id()) __builtin_trap();
    }
  }
  return 0;
}
