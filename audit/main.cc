// lapor-audit: verifies a node's transparency log without trusting the node.
//   lapor-audit verify --url URL --vkey KEY [--state FILE] [--earlier-vkey KEY ...]
//                      [--accept-lost FIRST-LAST ...] [--json]
//                      [--threads N]
//                      [--manifest FILE --hub-key HEX [--case-events-token TOKEN]]
//   lapor-audit verify-bundle FILE --vkey KEY [--hub-key HEX] [--accept-lost FIRST-LAST ...]
//                             [--json] [--threads N]
//   lapor-audit prove --url URL --vkey KEY --tracking-id ID [--access-code C | --token T]
//   lapor-audit verify-receipt FILE --vkey KEY [--witness-vkey KEY ...] [--earlier-vkey KEY ...]
//   lapor-audit check-national FILE --hub-key HEX
// Cases whose chain continues in other nodes' logs are counted; with --case-events-token (or a
// bundle and --hub-key) each such case's whole chain is checked across its authors.
// Exit 0 only if everything verified; 1 if anything failed (each failure names the node, index,
// case and reason); 2 if the audit could not run.
#include <spdlog/spdlog.h>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>
#include <pplx/threadpool.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "audit/national.h"
#include "audit/receipt.h"
#include "audit/tile_client.h"
#include "audit/verifier.h"
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "lapor/v1/event.pb.h"
#include "protocol/manifest.h"

namespace lapor::audit {
namespace {

using nlohmann::json;

using Headers = std::vector<std::pair<std::string, std::string>>;

// GET `path` with `headers`: the body of a 200, else Unavailable naming the path and the status.
Result<std::string> Fetch(web::http::client::http_client& client, const std::string& path,
                          const Headers& headers = {}) {
  web::http::http_request req(web::http::methods::GET);
  req.set_request_uri(path);
  for (const auto& [name, value] : headers) req.headers().add(name, value);
  try {
    auto resp = client.request(req).get();
    auto body = resp.extract_vector().get();
    if (resp.status_code() != 200) {
      return Status::Unavailable("GET " + path + ": HTTP " + std::to_string(resp.status_code()));
    }
    return std::string(body.begin(), body.end());
  } catch (const std::exception& e) {
    return Status::Unavailable("GET " + path + ": " + e.what());
  }
}

// The same, parsed as JSON (Corruption if it is not).
Result<json> FetchJson(web::http::client::http_client& client, const std::string& path,
                       const Headers& headers = {}) {
  auto body = Fetch(client, path, headers);
  if (!body.ok()) return body.status();
  auto j = json::parse(*body, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("GET " + path + ": the answer is not JSON");
  return j;
}

std::optional<AuditState> LoadState(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) return std::nullopt;  // first audit
  try {
    auto j = json::parse(in);
    auto root = crypto::Base64Decode(j.at("root").get<std::string>());
    if (!root || root->size() != 32) throw std::runtime_error("root is not a 32-byte hash");
    return AuditState{j.at("size").get<uint64_t>(), *root};
  } catch (const std::exception& e) {
    *error = path + ": " + e.what();
    return std::nullopt;
  }
}

// "7" for an entry of the log, "32/7" for event 7 of node 32 in a cross-node chain, "-" if none.
std::string IndexText(const Failure& f) {
  if (f.index < 0) return "-";
  return f.author.empty() ? std::to_string(f.index) : f.author + "/" + std::to_string(f.index);
}

void PrintReport(const AuditReport& report, bool as_json, bool chains_checked) {
  if (as_json) {
    json failures = json::array();
    for (const auto& f : report.failures) {
      json item = {{"node", f.node},
                   {"index", f.index >= 0 ? json(f.index) : json(nullptr)},
                   {"case", f.case_id.empty() ? json(nullptr) : json(f.case_id)},
                   {"reason", f.reason}};
      if (!f.author.empty()) item["author"] = f.author;
      failures.push_back(std::move(item));
    }
    json lost = json::array();
    for (const auto& g : report.lost) {
      lost.push_back({{"first", g.first},
                      {"last", g.declared_at - 1},
                      {"declared_at", g.declared_at},
                      {"previous_origin", g.previous_origin},
                      {"time_ms", g.time_ms}});
    }
    json out = {{"ok", report.ok()},
                {"origin", report.origin},
                {"size", report.size},
                {"root", crypto::Base64Encode(report.root)},
                {"signatures_checked", report.signatures_checked},
                {"cases", report.cases},
                {"continuing_cases", report.continuing_cases},
                {"cross_node_chains_checked", chains_checked},
                {"cross_node_chains_verified", report.chains_verified},
                {"foreign_signatures_checked", report.foreign_signatures_checked},
                {"threads", report.threads},
                {"lost", lost},
                {"failures", failures}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  for (const auto& f : report.failures) {
    std::printf("FAIL node=%s index=%s case=%s: %s\n", f.node.c_str(), IndexText(f).c_str(),
                f.case_id.empty() ? "-" : f.case_id.c_str(), f.reason.c_str());
  }
  for (const auto& g : report.lost) {
    std::printf(
        "LOST entries %llu-%llu: events the node lost for good, declared by its signed entry %llu "
        "(the log was %s before)\n",
        static_cast<unsigned long long>(g.first),
        static_cast<unsigned long long>(g.declared_at - 1),
        static_cast<unsigned long long>(g.declared_at), g.previous_origin.c_str());
  }
  std::string continuing =
      std::to_string(report.continuing_cases.size()) + " cases continuing in other nodes' logs";
  if (chains_checked) {
    continuing += " (" + std::to_string(report.chains_verified) + " cross-node chains verified, " +
                  std::to_string(report.foreign_signatures_checked) + " other nodes' signatures)";
  }
  std::printf(
      "%s: %llu entries, root %s, %llu signatures verified on %d threads, %llu cases, %s: %s\n",
      report.origin.c_str(), static_cast<unsigned long long>(report.size),
      crypto::Base64Encode(report.root).c_str(),
      static_cast<unsigned long long>(report.signatures_checked), report.threads,
      static_cast<unsigned long long>(report.cases), continuing.c_str(),
      report.ok() ? "OK" : "FAILED");
}

// The envelopes of every event a node holds of a case (its own and other nodes'), as served at
// GET /api/v1/complaints/{id}/events with an operator or auditor token.
Result<std::vector<std::string>> FetchCaseEvents(web::http::client::http_client& client,
                                                 const std::string& case_id,
                                                 const std::string& token) {
  const std::string path =
      "/api/v1/complaints/" + web::uri::encode_data_string(case_id) + "/events";
  auto j = FetchJson(client, path, {{"Authorization", "Bearer " + token}});
  if (!j.ok()) return j.status();
  try {
    std::vector<std::string> out;
    for (const auto& e : j->at("events")) {
      auto envelope = crypto::Base64Decode(e.at("envelope").get<std::string>());
      if (!envelope) return Status::Corruption("GET " + path + ": an envelope is not base64");
      out.push_back(std::move(*envelope));
    }
    return out;
  } catch (const std::exception& e) {
    return Status::Corruption("GET " + path + ": " + e.what());
  }
}

// Reads and verifies a manifest envelope file against the hub's key (hex).
Result<v1::Manifest> LoadManifest(const std::string& path, const std::string& hub_key_hex) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto key = crypto::HexDecode(hub_key_hex);
  if (!key || key->size() != crypto::kPublicKeySize) {
    return Status::InvalidArgument("the hub key must be 64 hex characters", "--hub-key");
  }
  return protocol::OpenManifest(bytes, *key);
}

// "FIRST-LAST" (decimal, FIRST <= LAST).
std::optional<std::pair<uint64_t, uint64_t>> ParseRange(const std::string& text) {
  const size_t dash = text.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 >= text.size() || dash > 19 ||
      text.size() - dash - 1 > 19 || text.find_first_not_of("0123456789-") != std::string::npos ||
      text.find('-', dash + 1) != std::string::npos) {
    return std::nullopt;
  }
  const uint64_t first = std::strtoull(text.c_str(), nullptr, 10);
  const uint64_t last = std::strtoull(text.c_str() + dash + 1, nullptr, 10);
  if (first > last) return std::nullopt;
  return std::make_pair(first, last);
}

int Verify(const std::string& url, const std::string& vkey, const std::string& state_path,
           bool as_json, int threads, const std::optional<v1::Manifest>& manifest,
           const std::string& case_events_token, const std::vector<std::string>& earlier_vkeys,
           const std::vector<std::pair<uint64_t, uint64_t>>& accept_lost) {
  web::http::client::http_client client(url);
  auto note = Fetch(client, "/log/checkpoint");
  if (!note.ok()) {
    std::fprintf(stderr, "lapor-audit: %s\n", note.status().ToString().c_str());
    return 2;
  }
  AuditInput in;
  in.vkey = vkey;
  in.checkpoint_note = *note;
  in.threads = threads;
  in.manifest = manifest;
  in.earlier_vkeys = earlier_vkeys;
  in.accept_lost = accept_lost;
  std::string state_error;
  if (!state_path.empty()) {
    in.previous = LoadState(state_path, &state_error);
    if (!state_error.empty()) {
      std::fprintf(stderr, "lapor-audit: bad state file %s\n", state_error.c_str());
      return 2;
    }
  }
  // Tiles and entry bundles, the bulk of an audit, come over one blocking keep-alive connection
  // where the URL is plain http (audit/tile_client.h); cpprestsdk otherwise.
  std::unique_ptr<TileClient> tile_client;
  if (url.rfind("http://", 0) == 0) {
    auto created = TileClient::Create(url);
    if (!created.ok()) {
      std::fprintf(stderr, "lapor-audit: %s\n", created.status().ToString().c_str());
      return 2;
    }
    tile_client = std::move(*created);
  }
  auto get_tile = [&](const std::string& path) {
    return tile_client ? tile_client->Get(path) : Fetch(client, path);
  };
  in.entries = [&](uint64_t from, uint64_t count) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (uint64_t tile = from / crypto::kTileWidth; tile * crypto::kTileWidth < from + count;
         ++tile) {
      // VerifyLog asks for whole tiles but the last, which ends at the tree size.
      const uint64_t width =
          std::min<uint64_t>(crypto::kTileWidth, from + count - tile * crypto::kTileWidth);
      auto bundle = get_tile(
          "/log/" + crypto::EntriesTilePath(tile, width == crypto::kTileWidth ? 0 : width));
      if (!bundle.ok()) return bundle.status();
      auto entries = crypto::DecodeEntryBundle(*bundle, width);
      if (!entries.ok()) {
        return Status::Corruption("entries tile " + std::to_string(tile) + ": " +
                                  entries.status().message());
      }
      for (auto& e : *entries) out.push_back(std::move(e));
    }
    return out;
  };
  in.tiles = [&](uint32_t level, uint64_t index, uint32_t width) -> Result<std::string> {
    return get_tile("/log/" + crypto::TilePath(level, index, width));
  };
  if (!case_events_token.empty()) {
    in.case_events = [&](const std::string& case_id) {
      return FetchCaseEvents(client, case_id, case_events_token);
    };
  }
  auto report = VerifyLog(in);
  if (!report.ok()) {
    std::fprintf(stderr, "lapor-audit: %s\n", report.status().ToString().c_str());
    return 2;
  }
  PrintReport(*report, as_json, static_cast<bool>(in.case_events));
  if (report->ok() && !state_path.empty()) {
    std::ofstream(state_path) << json{{"origin", report->origin},
                                      {"size", report->size},
                                      {"root", crypto::Base64Encode(report->root)}}
                                     .dump(2)
                              << "\n";
  }
  return report->ok() ? 0 : 1;
}

// Prints the inclusion proofs of a case's events in the node's signed tree, each verified here.
int Prove(const std::string& url, const std::string& vkey, const std::string& tracking_id,
          const std::string& access_code, const std::string& token) {
  web::http::client::http_client client(url);
  auto verifier = crypto::NoteVerifier::Parse(vkey);
  if (!verifier.ok()) {
    std::fprintf(stderr, "lapor-audit: bad verifier key: %s\n",
                 verifier.status().message().c_str());
    return 2;
  }
  auto note_text = Fetch(client, "/log/checkpoint");
  if (!note_text.ok()) {
    std::fprintf(stderr, "lapor-audit: %s\n", note_text.status().ToString().c_str());
    return 2;
  }
  auto note = crypto::SignedNote::Parse(*note_text);
  if (!note.ok() || !crypto::VerifyNote(*note, *verifier).ok()) {
    std::fprintf(stderr, "lapor-audit: the checkpoint is not signed by this key\n");
    return 1;
  }
  auto cp = crypto::Checkpoint::ParseBody(note->text);
  if (!cp.ok()) {
    std::fprintf(stderr, "lapor-audit: %s\n", cp.status().ToString().c_str());
    return 1;
  }
  // The case's events in this log, (seq, envelope): with an operator token, its signed events;
  // otherwise the seqs its view lists (public, or the reporter's with the access code) and each
  // envelope from the public log's entry bundles: the log itself is what is being proven.
  auto get_json = [&](const std::string& path, const std::string& bearer,
                      const std::string& code) -> Result<json> {
    Headers headers;
    if (!bearer.empty()) headers.emplace_back("Authorization", "Bearer " + bearer);
    if (!code.empty()) headers.emplace_back("X-Access-Code", code);
    return FetchJson(client, path, headers);
  };
  const std::string case_path = "/api/v1/complaints/" + web::uri::encode_data_string(tracking_id);
  std::vector<std::pair<uint64_t, std::optional<std::string>>> events;
  std::string self;  // this log's node: only its own events of the case are in it
  try {
    auto health = get_json("/healthz", "", "");
    if (!health.ok()) {
      std::fprintf(stderr, "lapor-audit: %s\n", health.status().message().c_str());
      return 2;
    }
    self = health->at("node_id").get<std::string>();
    if (!token.empty()) {
      auto signed_events = get_json(case_path + "/events", token, "");
      if (!signed_events.ok()) {
        std::fprintf(stderr, "lapor-audit: %s\n", signed_events.status().message().c_str());
        return 2;
      }
      for (const auto& e : signed_events->at("events")) {
        auto envelope = crypto::Base64Decode(e.at("envelope").get<std::string>());
        // Other nodes' events of the case are in their own logs (their seq is theirs).
        v1::Envelope env;
        v1::Event ev;
        if (envelope && env.ParseFromString(*envelope) && ev.ParseFromString(env.payload()) &&
            ev.node_id() != self) {
          continue;
        }
        events.emplace_back(e.at("seq").get<uint64_t>(), std::move(envelope));
      }
    } else {
      auto view = get_json(case_path, "", access_code);
      if (!view.ok()) {
        std::fprintf(stderr, "lapor-audit: %s\n", view.status().message().c_str());
        return 2;
      }
      std::map<uint64_t, std::vector<std::string>> bundles;  // entry tile -> its envelopes
      for (const auto& h : view->at("history")) {
        // In another node's log, or not shown to this caller (a confidential case's nodes).
        if (!h.at("node_id").is_string() || h.at("node_id").get<std::string>() != self) continue;
        const uint64_t seq = h.at("seq").get<uint64_t>();
        std::optional<std::string> envelope;
        if (seq < cp->size) {
          const uint64_t tile = seq / crypto::kTileWidth;
          const uint64_t width =
              std::min<uint64_t>(crypto::kTileWidth, cp->size - tile * crypto::kTileWidth);
          if (!bundles.count(tile)) {
            auto bundle = Fetch(
                client,
                "/log/" + crypto::EntriesTilePath(tile, width == crypto::kTileWidth ? 0 : width));
            auto split = bundle.ok() ? crypto::DecodeEntryBundle(*bundle, width)
                                     : Result<std::vector<std::string>>(bundle.status());
            bundles[tile] = split.ok() ? std::move(*split) : std::vector<std::string>();
          }
          const auto& entries = bundles[tile];
          if (seq % crypto::kTileWidth < entries.size())
            envelope = entries[seq % crypto::kTileWidth];
        }
        events.emplace_back(seq, std::move(envelope));
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lapor-audit: the node's answer about %s is malformed: %s\n",
                 tracking_id.c_str(), e.what());
    return 2;
  }
  bool all_ok = true;
  json out = json::array();
  for (const auto& [seq, envelope] : events) {
    json item = {{"seq", seq}};
    if (!envelope || seq >= cp->size) {
      item["verified"] = false;
      item["reason"] = seq >= cp->size ? "not yet covered by the checkpoint"
                                       : "envelope not available (not base64, or not in the log)";
      all_ok = false;
      out.push_back(item);
      continue;
    }
    // The entry at that index must be this case's event with that seq, signed by the log's key:
    // a node cannot pass another case's entry off as this one's.
    {
      v1::Envelope env;
      v1::Event ev;
      std::string why;
      if (!env.ParseFromString(*envelope) || !ev.ParseFromString(env.payload())) {
        why = "the entry is not a signed event";
      } else if (ev.case_id() != tracking_id || ev.seq() != seq || ev.node_id() != self) {
        why = "the entry at this index is event " + ev.node_id() + "/" + std::to_string(ev.seq()) +
              " of case " + ev.case_id() + ", not this case's";
      } else {
        bool signed_ok = false;
        const std::string pae = crypto::PreAuthEncoding(env.payload_type(), env.payload());
        for (const auto& sig : env.signatures()) {
          signed_ok = signed_ok || crypto::VerifySignature(verifier->public_key, pae, sig.sig());
        }
        if (!signed_ok) why = "the event is not signed by the log's key";
      }
      if (!why.empty()) {
        item["verified"] = false;
        item["reason"] = why;
        all_ok = false;
        out.push_back(item);
        continue;
      }
    }
    const std::string leaf = crypto::LeafHash(*envelope);
    auto proof_text = Fetch(client, "/log/proof/inclusion?index=" + std::to_string(seq) +
                                        "&size=" + std::to_string(cp->size));
    std::vector<std::string> proof;
    json proof_json = json::array();
    if (proof_text.ok()) {
      auto pj = json::parse(*proof_text, nullptr, false);
      if (pj.is_object() && pj.contains("proof")) {
        for (const auto& h : pj["proof"]) {
          auto raw = crypto::Base64Decode(h.get<std::string>());
          if (raw) proof.push_back(*raw);
          proof_json.push_back(h);
        }
      }
    }
    Status s = crypto::VerifyInclusion(leaf, seq, cp->size, proof, cp->root_hash);
    item["leaf_hash"] = crypto::Base64Encode(leaf);
    item["proof"] = proof_json;
    item["verified"] = s.ok();
    if (!s.ok()) item["reason"] = s.message();
    all_ok = all_ok && s.ok();
    out.push_back(item);
  }
  std::printf("%s\n", json{{"tracking_id", tracking_id},
                           {"origin", cp->origin},
                           {"size", cp->size},
                           {"root", crypto::Base64Encode(cp->root_hash)},
                           {"checkpoint", *note_text},
                           {"inclusion", out}}
                          .dump(2)
                          .c_str());
  return all_ok ? 0 : 1;
}

// Offline: everything comes from the bundle except the keys, which the auditor supplies (a
// bundle's own key proves nothing about who wrote it). With the hub's key, the bundled manifest
// gives the member keys and the bundled case_events the other nodes' links of cross-node cases.
int VerifyBundle(const std::string& path, const std::string& vkey, const std::string& hub_key_hex,
                 bool as_json, int threads,
                 const std::vector<std::pair<uint64_t, uint64_t>>& accept_lost) {
  v1::AuditBundle bundle;
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "lapor-audit: cannot read %s\n", path.c_str());
      return 2;
    }
    if (!bundle.ParseFromIstream(&f)) {
      std::fprintf(stderr, "lapor-audit: %s is not an audit bundle\n", path.c_str());
      return 2;
    }
  }
  if (bundle.vkey() != vkey) {
    std::fprintf(stderr, "lapor-audit: the bundle names key %s, not the one given\n",
                 bundle.vkey().c_str());
    return 1;
  }
  AuditInput in;
  in.accept_lost = accept_lost;
  in.vkey = vkey;
  in.checkpoint_note = bundle.checkpoint();
  in.threads = threads;
  in.entries = [&](uint64_t from, uint64_t count) -> Result<std::vector<std::string>> {
    if (from + count > static_cast<uint64_t>(bundle.entries_size())) {
      return Status::Corruption("the bundle holds " + std::to_string(bundle.entries_size()) +
                                " entries, fewer than its checkpoint covers");
    }
    return std::vector<std::string>(bundle.entries().begin() + from,
                                    bundle.entries().begin() + from + count);
  };
  std::string manifest_problem;
  if (!hub_key_hex.empty()) {
    auto key = crypto::HexDecode(hub_key_hex);
    if (!key || key->size() != crypto::kPublicKeySize) {
      std::fprintf(stderr, "lapor-audit: the hub key must be 64 hex characters\n");
      return 2;
    }
    if (bundle.manifest().empty()) {
      manifest_problem = "the bundle holds no federation manifest";
    } else if (auto m = protocol::OpenManifest(bundle.manifest(), *key); !m.ok()) {
      manifest_problem = "the bundled manifest: " + m.status().message();
    } else {
      in.manifest = *m;
    }
  }
  // Every envelope of the bundle (entries and other nodes' events) by the case it names, built on
  // the first cross-node case. Names are claims until the verifier checks the signatures.
  std::unordered_map<std::string, std::vector<std::string>> by_case;
  bool indexed = false;
  if (in.manifest) {
    in.case_events = [&](const std::string& case_id) -> Result<std::vector<std::string>> {
      if (!indexed) {
        indexed = true;
        auto add = [&](const std::string& bytes) {
          v1::Envelope env;
          v1::Event ev;
          if (env.ParseFromString(bytes) && ev.ParseFromString(env.payload())) {
            by_case[ev.case_id()].push_back(bytes);
          }
        };
        for (const auto& e : bundle.entries()) add(e);
        for (const auto& e : bundle.case_events()) add(e);
      }
      auto it = by_case.find(case_id);
      if (it == by_case.end()) return std::vector<std::string>{};
      return it->second;
    };
  }
  auto report = VerifyLog(in);
  if (!report.ok()) {
    std::fprintf(stderr, "lapor-audit: %s\n", report.status().ToString().c_str());
    return 2;
  }
  if (!manifest_problem.empty()) {
    report->failures.insert(report->failures.begin(),
                            Failure{report->origin, -1, "", manifest_problem, ""});
  }
  PrintReport(*report, as_json, static_cast<bool>(in.case_events));
  return report->ok() ? 0 : 1;
}

// A whole file, or nullopt (said on stderr).
std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "lapor-audit: cannot read %s\n", path.c_str());
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// check-national: the hub's national figures against the signed reports they were summed from.
int CheckNationalFile(const std::string& path, const std::string& hub_key) {
  auto text = ReadWholeFile(path);
  if (!text) return 2;
  auto check = CheckNationalEvidence(*text, hub_key);
  if (!check.ok()) {
    std::fprintf(stderr, "lapor-audit: %s\n", check.status().ToString().c_str());
    return 2;
  }
  for (const auto& n : check->notes) std::printf("note: %s\n", n.c_str());
  for (const auto& p : check->problems) std::printf("FAIL: %s\n", p.c_str());
  if (!check->ok()) return 1;
  std::printf(
      "national figures: %zu signed reports in %zu snapshots verified; every figure "
      "matches them\n",
      check->reports, check->snapshots);
  return 0;
}

// Checks a filing receipt offline (audit/receipt.h) and prints what it proves, as JSON.
int VerifyReceiptFile(const std::string& path, const std::string& vkey,
                      const std::vector<std::string>& witness_vkeys,
                      const std::vector<std::string>& earlier_vkeys) {
  auto key = crypto::NoteVerifier::Parse(vkey);
  if (!key.ok()) {
    std::fprintf(stderr, "lapor-audit: bad verifier key: %s\n", key.status().message().c_str());
    return 2;
  }
  std::vector<crypto::NoteVerifier> earlier;
  for (const auto& e : earlier_vkeys) {
    auto ek = crypto::NoteVerifier::Parse(e);
    if (!ek.ok() || ek->type != key->type || ek->name != key->name) {
      std::fprintf(stderr, "lapor-audit: bad earlier key (a log key of %s): %s\n",
                   key->name.c_str(), e.c_str());
      return 2;
    }
    earlier.push_back(*ek);
  }
  std::vector<crypto::NoteVerifier> witnesses;
  for (const auto& w : witness_vkeys) {
    auto wk = crypto::NoteVerifier::Parse(w);
    if (!wk.ok() || wk->type != crypto::kNoteSigCosignatureV1) {
      std::fprintf(stderr, "lapor-audit: bad witness key (a type 0x04 cosigner key): %s\n",
                   w.c_str());
      return 2;
    }
    witnesses.push_back(*wk);
  }
  auto text = ReadWholeFile(path);
  if (!text) return 2;
  auto check = VerifyReceipt(*text, *key, witnesses, earlier);
  if (!check.ok()) {
    std::fprintf(stderr, "lapor-audit: the receipt does not verify: %s\n",
                 check.status().ToString().c_str());
    return 1;
  }
  auto iso = [](int64_t ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  json witnessed = json::array();
  for (const auto& [name, at] : check->witnessed) {
    witnessed.push_back({{"witness", name}, {"time", iso(static_cast<int64_t>(at) * 1000)}});
  }
  std::cout << json{{"verified", true},
                    {"tracking_id", check->tracking_id},
                    {"node_id", check->node_id},
                    {"filed_at", iso(check->filed_ms)},
                    {"log_origin", check->log_origin},
                    {"leaf_index", check->leaf_index},
                    {"log_size", check->log_size},
                    {"witnessed", witnessed},
                    {"statement", "complaint " + check->tracking_id + " is entry " +
                                      std::to_string(check->leaf_index) + " of the public log " +
                                      check->log_origin + ", signed by node " + check->node_id +
                                      " at " + iso(check->filed_ms) +
                                      ": the node cannot remove it without its log "
                                      "failing every audit"}}
                   .dump(2)
            << "\n";
  return 0;
}

}  // namespace
}  // namespace lapor::audit

int main(int argc, char** argv) {
  // lapor-audit makes one request at a time; cpprestsdk's default pool of 40 threads only adds
  // hand-offs between them (a quarter of a million context switches for a 1M-entry log, against
  // 70k with two threads, and half the system time).
  crossplat::threadpool::initialize_with_threads(2);
  CLI::App app{"lapor-audit: verify a LAPOR! node's transparency log without trusting it"};
  app.require_subcommand(1);
  std::string url, vkey, state;
  bool as_json = false;
  int threads = 0;
  auto* verify = app.add_subcommand("verify", "verify checkpoint, tree, signatures and histories");
  verify->add_option("--url", url, "node base URL, e.g. http://127.0.0.1:8080")->required();
  verify
      ->add_option("--vkey", vkey, "the node's verifier key (GET /log/vkey, obtained out of band)")
      ->required();
  verify->add_option("--state", state, "file remembering the last audited size and root");
  std::vector<std::string> verify_earlier_vkeys;
  std::vector<std::string> accept_lost;
  verify->add_option("--accept-lost", accept_lost,
                     "FIRST-LAST: entries the node declared lost (`lapor-node log continue`), "
                     "accepted after confirming the loss with its operators (repeatable)");
  verify->add_option("--earlier-vkey", verify_earlier_vkeys,
                     "the node's log key before a `key activate` (repeatable; without --manifest: "
                     "entries signed by it pass too)");
  verify->add_flag("--json", as_json, "machine-readable output");
  verify->add_option("--threads", threads, "signature-checking threads (default: all cores)")
      ->check(CLI::Range(0, 256));
  std::string manifest_path, hub_key;
  auto* manifest_opt =
      verify->add_option("--manifest", manifest_path,
                         "federation manifest (GET /federation/v1/manifest): member keys");
  auto* hub_key_opt =
      verify->add_option("--hub-key", hub_key, "the hub's Ed25519 key (hex) that signs it");
  manifest_opt->needs(hub_key_opt);
  hub_key_opt->needs(manifest_opt);
  std::string case_events_token;
  verify
      ->add_option("--case-events-token", case_events_token,
                   "an operator or auditor token of the audited node: check the whole chain of "
                   "every case continuing in other nodes' logs (needs --manifest)")
      ->needs(manifest_opt);
  std::string tracking_id, access_code, token;
  auto* prove = app.add_subcommand("prove", "print verified inclusion proofs of a case's events");
  prove->add_option("--url", url, "node base URL")->required();
  prove->add_option("--vkey", vkey, "the node's verifier key")->required();
  prove->add_option("--tracking-id", tracking_id, "the case")->required();
  prove->add_option("--access-code", access_code,
                    "the reporter's access code (confidential cases)");
  prove->add_option("--token", token, "an operator token (confidential cases)");

  std::string bundle;
  auto* verify_bundle = app.add_subcommand("verify-bundle", "verify an audit bundle offline");
  verify_bundle->add_option("FILE", bundle, "bundle from lapor-node export-audit-bundle")
      ->required();
  verify_bundle->add_option("--vkey", vkey, "the node's verifier key, obtained out of band")
      ->required();
  verify_bundle->add_option("--hub-key", hub_key,
                            "the hub's Ed25519 key (hex): verify with the bundled manifest and "
                            "check cross-node chains with the bundled events of other nodes");
  verify_bundle->add_flag("--json", as_json, "machine-readable output");
  verify_bundle->add_option("--accept-lost", accept_lost,
                            "FIRST-LAST: entries the node declared lost, accepted (repeatable)");
  verify_bundle->add_option("--threads", threads, "signature-checking threads (default: all)")
      ->check(CLI::Range(0, 256));
  std::string receipt;
  std::vector<std::string> witness_vkeys;
  auto* verify_receipt =
      app.add_subcommand("verify-receipt", "verify a complaint's filing receipt offline");
  verify_receipt->add_option("FILE", receipt, "the receipt (GET /api/v1/complaints/{id}/receipt)")
      ->required();
  verify_receipt->add_option("--vkey", vkey, "the node's verifier key, obtained out of band")
      ->required();
  verify_receipt->add_option("--witness-vkey", witness_vkeys,
                             "a witness's cosigner key (repeatable): report its cosignature");
  std::vector<std::string> earlier_vkeys;
  verify_receipt->add_option("--earlier-vkey", earlier_vkeys,
                             "a log key the node signed with before its key changed "
                             "(repeatable; obtained out of band): a submission it signed verifies");
  std::string national;
  auto* check_national = app.add_subcommand(
      "check-national", "check the hub's national figures against the members' signed reports");
  check_national
      ->add_option("FILE", national, "the evidence (GET /national/v1/evidence on the hub)")
      ->required();
  check_national->add_option("--hub-key", hub_key, "the hub's Ed25519 key (hex), out of band")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::vector<std::pair<uint64_t, uint64_t>> accepted;
  for (const auto& r : accept_lost) {
    auto range = lapor::audit::ParseRange(r);
    if (!range) {
      std::fprintf(stderr, "lapor-audit: --accept-lost %s: expected FIRST-LAST\n", r.c_str());
      return 2;
    }
    accepted.push_back(*range);
  }
  if (*verify) {
    std::optional<lapor::v1::Manifest> manifest;
    if (!manifest_path.empty()) {
      auto m = lapor::audit::LoadManifest(manifest_path, hub_key);
      if (!m.ok()) {
        std::fprintf(stderr, "lapor-audit: manifest: %s\n", m.status().ToString().c_str());
        return 2;
      }
      manifest = *m;
    }
    return lapor::audit::Verify(url, vkey, state, as_json, threads, manifest, case_events_token,
                                verify_earlier_vkeys, accepted);
  }
  if (*prove) return lapor::audit::Prove(url, vkey, tracking_id, access_code, token);
  if (*verify_bundle) {
    return lapor::audit::VerifyBundle(bundle, vkey, hub_key, as_json, threads, accepted);
  }
  if (*verify_receipt) {
    return lapor::audit::VerifyReceiptFile(receipt, vkey, witness_vkeys, earlier_vkeys);
  }
  if (*check_national) return lapor::audit::CheckNationalFile(national, hub_key);
  return 2;
}
