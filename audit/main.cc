// lapor-audit: verifies a node's transparency log without trusting the node.
//   lapor-audit verify --url URL --vkey KEY [--state FILE] [--json] [--threads N]
// Exit 0 only if everything verified; 1 if anything failed (each failure names the node, index,
// case and reason); 2 if the audit could not run.
#include <spdlog/spdlog.h>
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/verifier.h"
#include "crypto/encoding.h"
#include "crypto/note.h"

namespace lapor::audit {
namespace {

using nlohmann::json;

Result<std::string> Fetch(web::http::client::http_client& client, const std::string& path) {
  try {
    auto resp = client.request(web::http::methods::GET, path).get();
    auto body = resp.extract_vector().get();
    if (resp.status_code() != 200) {
      return Status::Unavailable("GET " + path + ": HTTP " + std::to_string(resp.status_code()));
    }
    return std::string(body.begin(), body.end());
  } catch (const std::exception& e) {
    return Status::Unavailable("GET " + path + ": " + e.what());
  }
}

Result<std::vector<std::string>> SplitBundle(const std::string& bundle, size_t expect) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < bundle.size()) {
    if (at + 2 > bundle.size()) return Status::Corruption("entry bundle cut inside a length");
    size_t len =
        (static_cast<unsigned char>(bundle[at]) << 8) | static_cast<unsigned char>(bundle[at + 1]);
    if (at + 2 + len > bundle.size()) return Status::Corruption("entry bundle cut inside an entry");
    out.push_back(bundle.substr(at + 2, len));
    at += 2 + len;
  }
  if (out.size() != expect) {
    return Status::Corruption("entry bundle holds " + std::to_string(out.size()) +
                              " entries, expected " + std::to_string(expect));
  }
  return out;
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

int Verify(const std::string& url, const std::string& vkey, const std::string& state_path,
           bool as_json, int threads) {
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
  std::string state_error;
  if (!state_path.empty()) {
    in.previous = LoadState(state_path, &state_error);
    if (!state_error.empty()) {
      std::fprintf(stderr, "lapor-audit: bad state file %s\n", state_error.c_str());
      return 2;
    }
  }
  // The size the entries must cover comes from the checkpoint the verifier checks.
  uint64_t size = 0;
  if (auto parsed = crypto::SignedNote::Parse(*note); parsed.ok()) {
    if (auto cp = crypto::Checkpoint::ParseBody(parsed->text); cp.ok()) size = cp->size;
  }
  in.entries = [&](uint64_t from, uint64_t count) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (uint64_t tile = from / 256; tile * 256 < from + count; ++tile) {
      const uint64_t width = std::min<uint64_t>(256, size - tile * 256);
      auto bundle =
          Fetch(client, "/log/" + crypto::EntriesTilePath(tile, width == 256 ? 0 : width));
      if (!bundle.ok()) return bundle.status();
      auto entries = SplitBundle(*bundle, width);
      if (!entries.ok()) {
        return Status::Corruption("entries tile " + std::to_string(tile) + ": " +
                                  entries.status().message());
      }
      for (auto& e : *entries) out.push_back(std::move(e));
    }
    return out;
  };
  auto report = VerifyLog(in);
  if (!report.ok()) {
    std::fprintf(stderr, "lapor-audit: %s\n", report.status().ToString().c_str());
    return 2;
  }
  if (as_json) {
    json failures = json::array();
    for (const auto& f : report->failures) {
      failures.push_back({{"node", f.node},
                          {"index", f.index >= 0 ? json(f.index) : json(nullptr)},
                          {"case", f.case_id.empty() ? json(nullptr) : json(f.case_id)},
                          {"reason", f.reason}});
    }
    json out = {{"ok", report->ok()},
                {"origin", report->origin},
                {"size", report->size},
                {"root", crypto::Base64Encode(report->root)},
                {"signatures_checked", report->signatures_checked},
                {"cases", report->cases},
                {"threads", report->threads},
                {"failures", failures}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    for (const auto& f : report->failures) {
      std::printf("FAIL node=%s index=%s case=%s: %s\n", f.node.c_str(),
                  f.index >= 0 ? std::to_string(f.index).c_str() : "-",
                  f.case_id.empty() ? "-" : f.case_id.c_str(), f.reason.c_str());
    }
    std::printf(
        "%s: %llu entries, root %s, %llu signatures verified on %d threads, %llu cases: %s\n",
        report->origin.c_str(), static_cast<unsigned long long>(report->size),
        crypto::Base64Encode(report->root).c_str(),
        static_cast<unsigned long long>(report->signatures_checked), report->threads,
        static_cast<unsigned long long>(report->cases), report->ok() ? "OK" : "FAILED");
  }
  if (report->ok() && !state_path.empty()) {
    std::ofstream(state_path) << json{{"origin", report->origin},
                                      {"size", report->size},
                                      {"root", crypto::Base64Encode(report->root)}}
                                     .dump(2)
                              << "\n";
  }
  return report->ok() ? 0 : 1;
}

}  // namespace
}  // namespace lapor::audit

int main(int argc, char** argv) {
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
  verify->add_flag("--json", as_json, "machine-readable output");
  verify->add_option("--threads", threads, "signature-checking threads (default: all cores)")
      ->check(CLI::Range(0, 256));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*verify) return lapor::audit::Verify(url, vkey, state, as_json, threads);
  return 2;
}
