#include "federation/witness_client.h"

#include <spdlog/spdlog.h>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

#include "base/mutex.h"
#include "base/periodic.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "federation/peer_client.h"

namespace lapor::federation {

struct WitnessClient::Impl {
  struct Peer {
    WitnessEndpoint endpoint;
    crypto::NoteVerifier verifier;
    std::unique_ptr<web::http::client::http_client> client;
    uint64_t known = 0;              // the size the witness holds for us, as far as we know
    uint64_t cosigned = UINT64_MAX;  // the size of our checkpoint it last cosigned
  };
  storage::TreeLog* log;
  std::function<void(uint64_t, const std::string&)> on_ahead;
  Mutex mu;  // the loop's rounds and Probe take turns
  std::vector<Peer> peers LAPOR_GUARDED_BY(mu);
  std::unique_ptr<Periodic> loop;

  // True if the witness answered (whatever it answered).
  bool Submit(Peer& p, const storage::CheckpointRow& cp) LAPOR_REQUIRES(mu) {
    if (p.known > cp.size) {
      // Said when the witness named it (409); it goes on once the missing events are back.
      if (on_ahead) on_ahead(p.known, p.endpoint.url);
      return true;
    }
    std::string body = "old " + std::to_string(p.known) + "\n";
    if (p.known > 0) {
      auto proof = crypto::ConsistencyProof(log->Reader(), p.known, cp.size);
      if (!proof.ok()) {
        spdlog::warn("consistency proof {}->{}: {}", p.known, cp.size, proof.status().ToString());
        return false;
      }
      for (const auto& h : *proof) body += crypto::Base64Encode(h) + "\n";
    }
    body += "\n" + cp.note;
    try {
      web::http::http_request req(web::http::methods::POST);
      req.set_request_uri("/witness/add-checkpoint");
      req.set_body(body, "text/plain");
      auto resp = p.client->request(req).get();
      auto bytes = resp.extract_vector().get();
      std::string text(bytes.begin(), bytes.end());
      if (resp.status_code() == 409) {  // it holds another size: retry from there
        p.known = std::strtoull(text.c_str(), nullptr, 10);
        if (p.known > cp.size) {
          spdlog::warn("witness {} holds size {} beyond our checkpoint {}", p.endpoint.url, p.known,
                       cp.size);
          if (on_ahead) on_ahead(p.known, p.endpoint.url);
        }
        return true;
      }
      if (resp.status_code() != 200) {
        spdlog::warn("witness {} refused checkpoint {}: HTTP {} {}", p.endpoint.url, cp.size,
                     resp.status_code(), text.substr(0, 200));
        return true;
      }
      // Keep only a cosignature that verifies with the witness's key over this checkpoint.
      auto cosigned = crypto::SignedNote::Parse(cp.note + text);
      uint64_t ts = 0;
      if (!cosigned.ok() || !crypto::VerifyCosignature(*cosigned, p.verifier, &ts).ok()) {
        spdlog::warn("witness {} returned a cosignature that does not verify", p.endpoint.url);
        return true;
      }
      p.known = cp.size;
      p.cosigned = cp.size;
      if (Status s = log->AddCosignature(cp.size, text); !s.ok()) {
        spdlog::warn("storing a cosignature: {}", s.ToString());
      }
      return true;
    } catch (const std::exception& e) {
      spdlog::debug("witness {} unreachable: {}", p.endpoint.url, e.what());
      return false;
    }
  }

  void SubmitAll() {
    MutexLock lock(mu);
    for (auto& p : peers) {
      auto cp = log->checkpoint();
      if (p.cosigned != cp.size) Submit(p, cp);
    }
  }
};

WitnessClient::WitnessClient(storage::TreeLog* log, std::vector<WitnessEndpoint> witnesses,
                             std::function<void(uint64_t, const std::string&)> on_ahead)
    : impl_(new Impl) {
  impl_->log = log;
  impl_->on_ahead = std::move(on_ahead);
  for (auto& w : witnesses) {
    auto v = crypto::NoteVerifier::Parse(w.vkey);
    if (!v.ok()) {
      spdlog::error("witness {}: bad cosigner key: {}", w.url, v.status().ToString());
      continue;
    }
    auto client = std::make_unique<web::http::client::http_client>(
        w.url, PeerClientConfig(std::chrono::seconds(5)));
    MutexLock lock(impl_->mu);
    impl_->peers.push_back({std::move(w), *v, std::move(client)});
  }
  // Woken by each new checkpoint, but one round per 500 ms at most: a slow witness does not get
  // submissions back to back.
  impl_->loop = std::make_unique<Periodic>(
      "lapor-witness", std::chrono::milliseconds(5000), [impl = impl_.get()] { impl->SubmitAll(); },
      /*run_first=*/false, std::chrono::milliseconds(500));
}

void WitnessClient::Start() { impl_->loop->Start(); }

void WitnessClient::Wake() { impl_->loop->Wake(); }

WitnessProbe WitnessClient::Probe() {
  WitnessProbe probe;
  MutexLock lock(impl_->mu);
  for (auto& p : impl_->peers) {
    const auto cp = impl_->log->checkpoint();
    // Submitting learns the witness's size (409) or gets our checkpoint cosigned; a second
    // submission after a 409 sends the consistency proof from the size it named.
    bool answered = impl_->Submit(p, cp);
    if (answered && p.known < cp.size && p.cosigned != cp.size) answered = impl_->Submit(p, cp);
    if (!answered) continue;
    ++probe.answered;
    const uint64_t held = std::max(p.known, p.cosigned == UINT64_MAX ? 0 : p.cosigned);
    if (held > probe.highest_known) {
      probe.highest_known = held;
      probe.highest_url = p.endpoint.url;
    }
  }
  return probe;
}

WitnessClient::~WitnessClient() { impl_->loop->Stop(); }

}  // namespace lapor::federation
