// lapor-audit against a real node: a clean log verifies; an altered entry, a rewritten history
// (against the saved state), a wrong key and a deleted entry each fail, naming what and where.
// Against a federation (hub, 32, 33): logs whose cases continue in other nodes' logs verify, the
// whole cross-node chains verify with --case-events-token or from a bundle, and a tampered or
// non-owner event of another node is named.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "audit/tile_client.h"
#include "audit/verifier.h"
#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/node_process.h"
#include "lapor/v1/event.pb.h"
#include "protocol/envelope.h"
#include "protocol/manifest.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

std::string AuditBinary() {
  const char* bin = std::getenv("LAPOR_AUDIT_BIN");
  return bin != nullptr ? bin : LAPOR_AUDIT_BIN_DEFAULT;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NodeProcess>(MakeTempDir("lapor-audit") + "/node");
    node_->Init("32");
    admin_ = node_->AddOperator("Admin", "admin");
    node_->Start();
    std::string last;
    for (int i = 0; i < 300; ++i) {
      json c = {{"title", "Pungli " + std::to_string(i)},
                {"description", "Diminta uang di loket."},
                {"category", "pelayanan"},
                {"report_type", "pengaduan"},
                {"region_code", "32"}};
      auto r = node_->Post("/api/v1/complaints", c);
      ASSERT_EQ(r.status, 201);
      last = r.Json()["tracking_id"];
      last_id_ = last;
    }
    ASSERT_EQ(node_
                  ->Post("/api/v1/complaints/" + last + "/actions",
                         {{"action", "verify"}, {"agency", "inspektorat"}}, admin_)
                  .status,
              200);
    ASSERT_TRUE(Eventually("the checkpoint covers all 301 events", [&] { return Size() >= 301; }));
    ASSERT_EQ(Size(), 301u);
    vkey_ = node_->Get("/log/vkey").body;
    vkey_.pop_back();  // newline
    state_ = node_->data_dir() + "/../audit-state.json";
  }

  uint64_t Size() {
    auto note = crypto::SignedNote::Parse(node_->Get("/log/checkpoint").body);
    return note.ok() ? crypto::Checkpoint::ParseBody(note->text)->size : 0;
  }

  CommandResult Audit(const std::string& vkey, bool with_state = true) {
    std::vector<std::string> args = {
        AuditBinary(), "verify", "--url", "http://127.0.0.1:" + std::to_string(node_->port()),
        "--vkey",      vkey};
    if (with_state) {
      args.push_back("--state");
      args.push_back(state_);
    }
    return RunCommand(args);
  }

  // Flips one byte of a stored envelope behind the node's back.
  void FlipEnvelopeByte(uint64_t seq, size_t from_end) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((node_->data_dir() + "/lapor.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT envelope FROM events WHERE seq = ?", -1, &st, nullptr);
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(seq));
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    std::string env(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                    sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    env[env.size() - from_end] ^= 0x01;
    sqlite3_prepare_v2(db, "UPDATE events SET envelope = ? WHERE seq = ?", -1, &st, nullptr);
    sqlite3_bind_blob(st, 1, env.data(), static_cast<int>(env.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(seq));
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  // The root of the node's tree at `size`, recomputed from the stored envelopes.
  std::string RootAt(uint64_t size) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((node_->data_dir() + "/lapor.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT envelope FROM events WHERE seq < ? ORDER BY seq", -1, &st,
                       nullptr);
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(size));
    crypto::CompactRange tree;
    while (sqlite3_step(st) == SQLITE_ROW) {
      EXPECT_TRUE(tree.Append(crypto::LeafHash(
                                  std::string(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                                              sqlite3_column_bytes(st, 0))))
                      .ok());
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    EXPECT_EQ(tree.size(), size);
    return tree.Root();
  }

  void WriteState(uint64_t size, const std::string& root) {
    std::ofstream(state_) << json{
        {"origin", "lapor.go.id/node/32"},
        {"size", size},
        {"root", crypto::Base64Encode(
                     root)}}.dump();
  }

  std::unique_ptr<NodeProcess> node_;
  std::string admin_, vkey_, state_, last_id_;
};

TEST_F(AuditTest, CleanLogVerifiesAndStateIsSaved) {
  auto r = Audit(vkey_);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("301 entries"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("301 signatures verified"), std::string::npos) << r.output;
  auto again = Audit(vkey_);  // append-only against the saved state
  EXPECT_EQ(again.exit_code, 0) << again.output;
  auto j =
      RunCommand({AuditBinary(), "verify", "--url",
                  "http://127.0.0.1:" + std::to_string(node_->port()), "--vkey", vkey_, "--json"});
  auto parsed = json::parse(j.output, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << j.output;
  EXPECT_EQ(parsed["ok"], true);
  EXPECT_EQ(parsed["size"], 301);
}

TEST_F(AuditTest, AlteredEntryIsNamedByIndexAndBreaksAppendOnly) {
  ASSERT_EQ(Audit(vkey_).exit_code, 0);  // state: 301 entries with the honest root
  FlipEnvelopeByte(7, 1);                // last byte: inside the signature
  auto r = Audit(vkey_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("index=7 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no valid signature"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("do not hash to the checkpoint's root"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not append-only"), std::string::npos) << r.output;
  // fsck on the node's side finds it too.
  EXPECT_NE(node_->Fsck().exit_code, 0);
}

// The state of an earlier audit may end anywhere: inside the first full tile (which the auditor
// otherwise adds to its tree as one subtree), at its end, or inside the partial last one.
TEST_F(AuditTest, AppendOnlyIsCheckedAtAnyEarlierSize) {
  for (uint64_t size : {1u, 100u, 255u, 256u, 257u, 300u}) {
    SCOPED_TRACE("earlier size " + std::to_string(size));
    const std::string root = RootAt(size);
    WriteState(size, root);
    auto ok = Audit(vkey_);
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    std::string wrong = root;
    wrong[0] ^= 0x01;
    WriteState(size, wrong);
    auto r = Audit(vkey_);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("not append-only: the first " + std::to_string(size) + " entries"),
              std::string::npos)
        << r.output;
  }
}

// The blocking client lapor-audit downloads tiles with: only http URLs, the node's bytes as
// served, HTTP errors and unreachable servers as Unavailable naming the path.
TEST_F(AuditTest, TileClientFetchesOverOneConnection) {
  for (const char* bad : {"https://127.0.0.1:1", "127.0.0.1:8080", "http://", "http://host:0",
                          "http://host:99999", "http://host:8x", "http://[::1"}) {
    EXPECT_EQ(audit::TileClient::Create(bad).status().code(), Status::Code::kInvalidArgument)
        << bad;
  }
  auto client =
      audit::TileClient::Create("http://127.0.0.1:" + std::to_string(node_->port()) + "/");
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  for (int i = 0; i < 3; ++i) {  // the same connection, request after request
    auto tile = (*client)->Get("/log/tile/0/000");
    ASSERT_TRUE(tile.ok()) << tile.status().ToString();
    EXPECT_EQ(*tile, node_->Get("/log/tile/0/000").body);
  }
  auto missing = (*client)->Get("/log/nothing");
  EXPECT_EQ(missing.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(missing.status().message().find("GET /log/nothing: HTTP 404"), std::string::npos)
      << missing.status().message();
  // The node restarts: the kept connection is gone and the next request opens a new one.
  node_->SetPort(node_->port());
  node_->Stop();
  auto down = (*client)->Get("/log/checkpoint");
  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable);
  node_->Start();
  auto again = (*client)->Get("/log/vkey");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, vkey_ + "\n");
  // Restarted between two requests: the first use of the dead connection fails and the request
  // is sent again on a new one.
  node_->Stop();
  node_->Start();
  auto retried = (*client)->Get("/log/vkey");
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(*retried, vkey_ + "\n");
}

// A server that accepts, reads the request and never answers: the client gives up at its
// deadline, and the request it sent names the host with its port.
TEST(TileClientTest, TimesOutAndSendsTheHostWithItsPort) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  std::string request;
  std::thread server([&] {
    int conn = accept(listener, nullptr, nullptr);
    char buf[4096];
    ssize_t n = read(conn, buf, sizeof buf);
    if (n > 0) request.assign(buf, static_cast<size_t>(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // no answer
    close(conn);
  });
  auto client = audit::TileClient::Create("http://127.0.0.1:" + std::to_string(port),
                                          std::chrono::milliseconds(300));
  ASSERT_TRUE(client.ok());
  const auto start = std::chrono::steady_clock::now();
  auto r = (*client)->Get("/log/checkpoint");
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("GET /log/checkpoint: "), std::string::npos);
  EXPECT_LT(waited, std::chrono::milliseconds(1200)) << "no deadline, or a retry after it";
  server.join();
  close(listener);
  EXPECT_NE(request.find("GET /log/checkpoint HTTP/1.1\r\n"), std::string::npos) << request;
  EXPECT_NE(request.find("Host: 127.0.0.1:" + std::to_string(port) + "\r\n"), std::string::npos)
      << request;
}

// A validly signed checkpoint of an absurd size (2^64 - 1) cannot pass with nothing checked: the
// entries it claims are asked for, and their absence ends the audit with an error.
TEST(VerifyLogTest, CheckpointOfAnAbsurdSizeIsNotVacuouslyVerified) {
  auto key = crypto::SigningKey::Generate();
  const std::string origin = "lapor.go.id/node/32";
  crypto::Checkpoint cp{origin, UINT64_MAX, crypto::EmptyRoot(), {}};
  auto note = crypto::SignNote(cp.Body(), origin, key);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  audit::AuditInput in;
  in.vkey = crypto::VerifierKeyString(origin, key.public_key());
  in.checkpoint_note = *note;
  int asked = 0;
  in.entries = [&](uint64_t, uint64_t) -> Result<std::vector<std::string>> {
    ++asked;
    return Status::NotFound("no such tile");
  };
  auto report = audit::VerifyLog(in);
  EXPECT_FALSE(report.ok() && report->ok()) << "an absurd checkpoint verified";
  EXPECT_GE(asked, 1);
}

TEST_F(AuditTest, AlteredHashTileIsNamed) {
  // The stored level-8 node behind tile 1/000.p/1 changes: entries and checkpoint still agree,
  // but the tile a client would use for proofs lies.
  auto r0 = Audit(vkey_, false);
  ASSERT_EQ(r0.exit_code, 0) << r0.output;
  // The node runs: its background passes may hold the write lock for a moment.
  auto sql =
      RunCommand({"/usr/bin/sqlite3", "-cmd", ".timeout 10000", node_->data_dir() + "/lapor.db",
                  "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 0"});
  ASSERT_EQ(sql.exit_code, 0) << sql.output;
  auto r = Audit(vkey_, false);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tile 1/000.p/1 differs from the tree recomputed from the entries"),
            std::string::npos)
      << r.output;
}

TEST_F(AuditTest, WrongKeyFails) {
  auto other = crypto::SigningKey::Generate();
  auto r = Audit(crypto::VerifierKeyString("lapor.go.id/node/32", other.public_key()), false);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("checkpoint signature"), std::string::npos) << r.output;
  auto bad = Audit("not-a-key", false);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}

TEST_F(AuditTest, DeletedEntryIsReported) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((node_->data_dir() + "/lapor.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM events WHERE seq = 290", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto r = Audit(vkey_, false);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("entries tile 1"), std::string::npos) << r.output;
}

// Audits with a federation manifest: each event must be signed by a key its node held then.
TEST_F(AuditTest, ManifestKeysRetiredKeysAndNonMembers) {
  auto hub = crypto::SigningKey::Generate();
  const std::string node_key = *crypto::HexDecode(node_->PublicKeyHex());
  auto write_manifest = [&](const v1::Manifest& m, const crypto::SigningKey& signer) {
    const std::string path = node_->data_dir() + "/../manifest.pb";
    std::ofstream(path, std::ios::binary) << protocol::SignManifest(m, signer);
    return path;
  };
  auto audit = [&](const std::string& manifest, const crypto::SigningKey& pinned) {
    return RunCommand({AuditBinary(), "verify", "--url",
                       "http://127.0.0.1:" + std::to_string(node_->port()), "--vkey", vkey_,
                       "--manifest", manifest, "--hub-key",
                       crypto::HexEncode(pinned.public_key())});
  };
  v1::Manifest good;
  ASSERT_TRUE(protocol::AddMember(&good, "32", "http://127.0.0.1:1", node_key, 0).ok());
  auto ok = audit(write_manifest(good, hub), hub);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  // The node's key retired long before these events: every event is refused, by index.
  v1::Manifest retired = good;
  retired.mutable_members(0)->mutable_keys(0)->set_valid_until_ms(1000);
  auto r = audit(write_manifest(retired, hub), hub);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("index=0 "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("which is not valid at"), std::string::npos) << r.output;

  v1::Manifest stranger;
  ASSERT_TRUE(protocol::AddMember(&stranger, "33", "http://127.0.0.1:1", node_key, 0).ok());
  auto s = audit(write_manifest(stranger, hub), hub);
  EXPECT_EQ(s.exit_code, 1) << s.output;
  EXPECT_NE(s.output.find("node '32' is not a federation member"), std::string::npos) << s.output;

  // A manifest not signed by the pinned hub key is not used at all.
  auto other = crypto::SigningKey::Generate();
  EXPECT_EQ(audit(write_manifest(good, other), hub).exit_code, 2);
}

TEST_F(AuditTest, BundleVerifiesOfflineAndTamperingIsCaught) {
  const std::string path = node_->data_dir() + "/../bundle.pb";
  auto exported =
      node_->Cli({"export-audit-bundle", "--data-dir", node_->data_dir(), "--out", path});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  auto ok = RunCommand({AuditBinary(), "verify-bundle", path, "--vkey", vkey_});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  auto other = crypto::SigningKey::Generate();
  EXPECT_EQ(RunCommand({AuditBinary(), "verify-bundle", path, "--vkey",
                        crypto::VerifierKeyString("lapor.go.id/node/32", other.public_key())})
                .exit_code,
            1);
  v1::AuditBundle bundle;
  {
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(bundle.ParseFromIstream(&in));
  }
  ASSERT_EQ(bundle.entries_size(), 301);
  std::string* entry = bundle.mutable_entries(11);
  (*entry)[entry->size() / 2] ^= 0x20;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(bundle.SerializeToOstream(&out));
  }
  auto bad = RunCommand({AuditBinary(), "verify-bundle", path, "--vkey", vkey_});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("index=11 "), std::string::npos) << bad.output;
}

TEST_F(AuditTest, ProvePrintsVerifiedInclusionProofsOfACase) {
  auto r = RunCommand({AuditBinary(), "prove", "--url",
                       "http://127.0.0.1:" + std::to_string(node_->port()), "--vkey", vkey_,
                       "--tracking-id", last_id_});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = json::parse(r.output, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.output;
  ASSERT_EQ(j["inclusion"].size(), 2u);  // submitted, verified
  for (const auto& item : j["inclusion"]) EXPECT_EQ(item["verified"], true);
  EXPECT_EQ(RunCommand({AuditBinary(), "prove", "--url",
                        "http://127.0.0.1:" + std::to_string(node_->port()), "--vkey", vkey_,
                        "--tracking-id", "32-NOSUCHCASE"})
                .exit_code,
            2);
}

// The filing receipt: the reporter downloads it with the access code, and lapor-audit checks it
// offline against the node's log key; a changed proof, another key, another case's id or an
// entry moved fails; nobody without the code (or a token that may have it) gets it.
TEST_F(AuditTest, AFilingReceiptVerifiesOfflineAndTamperingIsCaught) {
  const json c = {{"title", "Pungli di loket KTP"},
                  {"description", "Diminta uang tambahan untuk mempercepat KTP."},
                  {"category", "pelayanan"},
                  {"report_type", "pengaduan"},
                  {"region_code", "32"},
                  {"confidential", true}};
  auto filed = node_->Post("/api/v1/complaints", c);
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string id = filed.Json()["tracking_id"];
  const std::string code = filed.Json()["access_code"];
  const std::string path = "/api/v1/complaints/" + id + "/receipt";
  HttpResponse r;
  ASSERT_TRUE(Eventually("the checkpoint covers the complaint", [&] {
    r = Http(node_->port(), "GET", path, "", {{"X-Access-Code", code}});
    return r.status != 503;
  }));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("lapor-receipt-v1"), std::string::npos);
  // The public and a wrong code get nothing.
  EXPECT_EQ(Http(node_->port(), "GET", path, "", {}).status, 403);
  EXPECT_EQ(Http(node_->port(), "GET", path, "", {{"X-Access-Code", "WRONG-CODE"}}).status, 401);
  EXPECT_EQ(node_->Get(path, admin_).status, 200);

  const std::string dir = MakeTempDir("lapor-receipt");
  auto verify = [&](const std::string& text, const std::string& vkey) {
    const std::string file = dir + "/receipt.json";
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    return RunCommand({AuditBinary(), "verify-receipt", file, "--vkey", vkey});
  };
  auto ok = verify(r.body, vkey_);
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  auto out = json::parse(ok.output.substr(ok.output.find('{')), nullptr, false);
  ASSERT_TRUE(out.is_object()) << ok.output;
  EXPECT_EQ(out["verified"], true);
  EXPECT_EQ(out["tracking_id"], id);
  EXPECT_EQ(out["node_id"], "32");
  EXPECT_EQ(out["log_size"].get<uint64_t>() > out["leaf_index"].get<uint64_t>(), true);

  const json receipt = json::parse(r.body);
  {
    json bad = receipt;
    std::string h = *crypto::Base64Decode(bad["inclusion_proof"][0].get<std::string>());
    h[0] ^= 1;
    bad["inclusion_proof"][0] = crypto::Base64Encode(h);
    auto v = verify(bad.dump(), vkey_);
    EXPECT_EQ(v.exit_code, 1) << v.output;
    EXPECT_NE(v.output.find("inclusion_proof"), std::string::npos) << v.output;
  }
  {
    json bad = receipt;
    bad["tracking_id"] = last_id_;
    auto v = verify(bad.dump(), vkey_);
    EXPECT_EQ(v.exit_code, 1) << v.output;
    EXPECT_NE(v.output.find("tracking_id"), std::string::npos) << v.output;
  }
  {
    json bad = receipt;
    bad["leaf_index"] = receipt["leaf_index"].get<uint64_t>() - 1;
    EXPECT_EQ(verify(bad.dump(), vkey_).exit_code, 1);
  }
  {
    // Another node's key: the checkpoint is not its.
    auto other = crypto::NoteVerifier::FromPublicKey("other.example/log",
                                                     crypto::SigningKey::Generate().public_key());
    auto v = verify(r.body, other->ToString());
    EXPECT_EQ(v.exit_code, 1) << v.output;
    EXPECT_NE(v.output.find("not signed by the node's log key"), std::string::npos) << v.output;
  }
  EXPECT_EQ(verify("{\"format\": \"something else\"}", vkey_).exit_code, 1);
}

// ---- Cross-node cases (federation) ----

constexpr char kEventPayloadType[] = "application/vnd.lapor.event.v1+protobuf";

// The envelope bytes of `ev` signed by `key`, as a node signs its events.
std::string SignEvent(const v1::Event& ev, const crypto::SigningKey& key) {
  v1::Envelope env;
  env.set_payload_type(kEventPayloadType);
  env.set_payload(ev.SerializeAsString());
  auto* sig = env.add_signatures();
  sig->set_keyid(crypto::KeyIdOf(key.public_key()));
  sig->set_sig(key.Sign(crypto::PreAuthEncoding(kEventPayloadType, env.payload())));
  return env.SerializeAsString();
}

// ---- Lost events (`lapor-node log continue`): placeholders and the event declaring them ----

class LostEntriesTest : public ::testing::Test {
 protected:
  // The signed EVENT_LOG_GAP of seq `seq` declaring [first_lost, seq) lost.
  std::string Gap(uint64_t seq, uint64_t first_lost, const std::string& case_id = "",
                  const crypto::SigningKey* signer = nullptr) {
    v1::Event ev;
    ev.set_node_id("32");
    ev.set_seq(seq);
    ev.set_case_id(case_id);
    ev.set_time_ms(1767225600000);
    ev.mutable_actor()->set_kind(v1::ACTOR_SYSTEM);
    ev.set_type(v1::EVENT_LOG_GAP);
    ev.mutable_log_gap()->set_first_lost(first_lost);
    ev.mutable_log_gap()->set_previous_origin(gap_previous_);
    ev.mutable_log_gap()->set_origin(gap_origin_);
    return SignEvent(ev, signer != nullptr ? *signer : key_);
  }
  // Verifies a log of exactly `entries` under a checkpoint the node's key signed.
  audit::AuditReport Verify(const std::vector<std::string>& entries,
                            std::optional<audit::AuditState> previous = std::nullopt,
                            std::vector<std::pair<uint64_t, uint64_t>> accept = {{0, 1}}) {
    crypto::CompactRange tree;
    for (const auto& e : entries) EXPECT_TRUE(tree.Append(crypto::LeafHash(e)).ok());
    crypto::Checkpoint cp{origin_, entries.size(), tree.Root(), {}};
    auto note = crypto::SignNote(cp.Body(), origin_, key_);
    EXPECT_TRUE(note.ok());
    audit::AuditInput in;
    in.vkey = crypto::VerifierKeyString(origin_, key_.public_key());
    in.checkpoint_note = *note;
    in.previous = previous;
    in.accept_lost = accept;
    in.entries = [&](uint64_t from, uint64_t count) -> Result<std::vector<std::string>> {
      return std::vector<std::string>(entries.begin() + from, entries.begin() + from + count);
    };
    auto report = audit::VerifyLog(in);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : audit::AuditReport{};
  }
  static std::string Reasons(const audit::AuditReport& r) {
    std::string out;
    for (const auto& f : r.failures) out += f.reason + "\n";
    return out;
  }
  crypto::SigningKey key_ = crypto::SigningKey::Generate();
  std::string origin_ = "lapor.go.id/node/e2/32";
  std::string gap_origin_ = origin_;
  std::string gap_previous_ = "lapor.go.id/node/32";
};

TEST_F(LostEntriesTest, PlaceholdersDeclaredByTheEventRightAfterThemVerify) {
  auto r = Verify({protocol::LostEntry(0), protocol::LostEntry(1), Gap(2, 0)});
  EXPECT_TRUE(r.ok()) << Reasons(r);
  ASSERT_EQ(r.lost.size(), 1u);
  EXPECT_EQ(r.lost[0].first, 0u);
  EXPECT_EQ(r.lost[0].declared_at, 2u);
  EXPECT_EQ(r.lost[0].previous_origin, "lapor.go.id/node/32");
  EXPECT_EQ(r.signatures_checked, 1u);
  EXPECT_EQ(r.cases, 0u);  // the declaration is no case
}

TEST_F(LostEntriesTest, ALossIsAcceptedOnlyKnowinglyAndOnlyAsANewLog) {
  const std::vector<std::string> log = {protocol::LostEntry(0), protocol::LostEntry(1), Gap(2, 0)};
  // Not accepted by the auditor: named, with what to do.
  auto unaccepted = Verify(log, std::nullopt, {});
  EXPECT_NE(Reasons(unaccepted)
                .find("declared lost (its entry 2; the log was "
                      "'lapor.go.id/node/32' before): confirm the loss with the "
                      "node's operators, then pass --accept-lost 0-1"),
            std::string::npos)
      << Reasons(unaccepted);
  EXPECT_FALSE(Verify(log, std::nullopt, {{0, 2}}).ok());  // another range
  // Accepted by an earlier audit whose state covers the declaration.
  crypto::CompactRange seen;
  for (const auto& e : log) ASSERT_TRUE(seen.Append(crypto::LeafHash(e)).ok());
  std::vector<std::string> longer = log;
  longer.push_back(protocol::LostEntry(3));
  longer.push_back(protocol::LostEntry(4));
  gap_previous_ = origin_;  // a second loss: e2 goes on as e3
  gap_origin_ = origin_ = "lapor.go.id/node/e3/32";
  longer.push_back(Gap(5, 3));
  auto second = Verify(longer, audit::AuditState{3, seen.Root()}, {{3, 4}});
  EXPECT_TRUE(second.ok()) << Reasons(second);
  EXPECT_EQ(second.lost.size(), 2u);
  gap_previous_ = "lapor.go.id/node/32";
  gap_origin_ = origin_ = "lapor.go.id/node/e2/32";
  // The declaration must move the log to the checkpoint's origin, away from the one before.
  gap_origin_ = "lapor.go.id/node/32";
  auto same = Verify({protocol::LostEntry(0), Gap(1, 0)}, std::nullopt, {{0, 0}});
  EXPECT_NE(Reasons(same).find("but the log goes on as 'lapor.go.id/node/e2/32'"),
            std::string::npos)
      << Reasons(same);
  gap_origin_ = "lapor.go.id/node/e3/32";
  EXPECT_FALSE(Verify({protocol::LostEntry(0), Gap(1, 0)}, std::nullopt, {{0, 0}}).ok());
}

TEST_F(LostEntriesTest, UndeclaredMisnumberedOrMismatchedPlaceholdersAreNamed) {
  // Placeholders no declaration follows.
  auto undeclared = Verify({protocol::LostEntry(0), protocol::LostEntry(1)});
  EXPECT_NE(Reasons(undeclared).find("entries 0-1 stand for lost events, but no EVENT_LOG_GAP"),
            std::string::npos)
      << Reasons(undeclared);
  // A placeholder standing for another seq than its entry.
  auto misnumbered = Verify({protocol::LostEntry(5), Gap(1, 0)});
  EXPECT_NE(Reasons(misnumbered).find("placeholder stands for seq 5"), std::string::npos)
      << Reasons(misnumbered);
  // A declaration of more, or fewer, entries than the placeholders before it.
  auto more = Verify({protocol::LostEntry(0), protocol::LostEntry(1), Gap(2, 1)});
  EXPECT_NE(Reasons(more).find("not exactly the placeholders before it"), std::string::npos)
      << Reasons(more);
  auto none = Verify({Gap(0, 0)});
  EXPECT_NE(Reasons(none).find("not exactly the placeholders before it"), std::string::npos)
      << Reasons(none);
  // A declaration that claims a case.
  auto with_case = Verify({protocol::LostEntry(0), Gap(1, 0, "32-ABCDEFGHJK")});
  EXPECT_FALSE(with_case.ok());
  // A declaration signed by another key.
  const crypto::SigningKey other = crypto::SigningKey::Generate();
  const std::string forged = Gap(1, 0, "", &other);
  auto wrong_key = Verify({protocol::LostEntry(0), forged});
  EXPECT_FALSE(wrong_key.ok());
  EXPECT_TRUE(wrong_key.lost.empty());
}

TEST_F(LostEntriesTest, AnAuditStateAmongTheLostEntriesIsNamed) {
  const std::vector<std::string> log = {protocol::LostEntry(0), protocol::LostEntry(1), Gap(2, 0)};
  // What an auditor saw before: two entries that were then lost.
  crypto::CompactRange before;
  ASSERT_TRUE(before.Append(crypto::LeafHash("event a")).ok());
  ASSERT_TRUE(before.Append(crypto::LeafHash("event b")).ok());
  auto r = Verify(log, audit::AuditState{2, before.Root()});
  EXPECT_NE(Reasons(r).find("the audit state's size 2 lies among the entries the node declared "
                            "lost (0-1"),
            std::string::npos)
      << Reasons(r);
  // Beyond the declaration the state is simply not append-only.
  crypto::CompactRange three = before;
  ASSERT_TRUE(three.Append(crypto::LeafHash("event c")).ok());
  auto beyond = Verify(log, audit::AuditState{3, three.Root()});
  EXPECT_NE(Reasons(beyond).find("not append-only"), std::string::npos) << Reasons(beyond);
}

uint64_t CheckpointSize(NodeProcess& node) {
  auto note = crypto::SignedNote::Parse(node.Get("/log/checkpoint").body);
  if (!note.ok()) return 0;
  auto cp = crypto::Checkpoint::ParseBody(note->text);
  return cp.ok() ? cp->size : 0;
}

// One SQL statement on a stopped node's database, with blob/text/integer parameters.
struct SqlValue {
  enum Kind { kBlob, kText, kInt } kind;
  std::string bytes;
  int64_t number = 0;
};
SqlValue Blob(std::string b) { return {SqlValue::kBlob, std::move(b), 0}; }
SqlValue Text(std::string t) { return {SqlValue::kText, std::move(t), 0}; }
SqlValue Int(int64_t n) { return {SqlValue::kInt, "", n}; }

// Runs `sql` and returns the first column of each row as bytes (integers in decimal).
std::vector<std::string> Sql(const std::string& db_path, const std::string& sql,
                             const std::vector<SqlValue>& params = {}) {
  sqlite3* db = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db_path;
    return rows;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return rows;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const int at = static_cast<int>(i) + 1;
    const SqlValue& v = params[i];
    if (v.kind == SqlValue::kBlob) {
      sqlite3_bind_blob(st, at, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
    } else if (v.kind == SqlValue::kText) {
      sqlite3_bind_text(st, at, v.bytes.c_str(), -1, SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_int64(st, at, v.number);
    }
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
      rows.push_back(std::to_string(sqlite3_column_int64(st, 0)));
    } else {
      rows.emplace_back(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                        sqlite3_column_bytes(st, 0));
    }
  }
  EXPECT_EQ(rc, SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

class CrossNodeAuditTest : public ::testing::Test {
 protected:
  CrossNodeAuditTest() : f_(FederationOptions{{"32", "33"}}) {}

  void SetUp() override {
    const std::string dir = MakeTempDir("lapor-audit-fed");
    manifest_ = dir + "/manifest.pb";
    std::ofstream(manifest_, std::ios::binary) << f_.hub().Get("/federation/v1/manifest").body;
    bundle_ = dir + "/bundle.pb";
  }

  // Files a case at 32 about region 33 (owned by 33), which 33's admin verifies.
  std::string FileCrossJurisdictionCase() {
    auto r = f_.node("32").Post("/api/v1/complaints",
                                {{"title", "Jalan rusak"},
                                 {"description", "Jalan berlubang di depan sekolah."},
                                 {"category", "infrastruktur"},
                                 {"report_type", "pengaduan"},
                                 {"region_code", "33"}});
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string id = r.Json().value("tracking_id", "");
    EXPECT_TRUE(Eventually("33 holds the submission of " + id,
                           [&] { return Events("33", id).size() == 1; }));
    auto v = Act("33", id, {{"action", "verify"}, {"agency", "dinas-pu"}});
    EXPECT_EQ(v.status, 200) << v.body;
    EXPECT_TRUE(Eventually("32 holds 33's verification of " + id,
                           [&] { return Events("32", id).size() == 2; }));
    return id;
  }

  HttpResponse Act(const std::string& node, const std::string& id, const json& body) {
    return f_.node(node).Post("/api/v1/complaints/" + id + "/actions", body, f_.admin_token(node));
  }

  json Events(const std::string& node, const std::string& id) {
    auto r = f_.node(node).Get("/api/v1/complaints/" + id + "/events", f_.auditor_token(node));
    return r.status == 200 ? r.Json()["events"] : json::array();
  }

  // Waits until the node's checkpoint covers its whole log.
  void WaitLogged(const std::string& node) {
    const std::string db = f_.node(node).data_dir() + "/lapor.db";
    auto rows = Sql(db, "SELECT COUNT(*) FROM events");
    ASSERT_EQ(rows.size(), 1u);
    const uint64_t count = std::stoull(rows[0]);
    ASSERT_TRUE(Eventually(node + "'s checkpoint covers its " + std::to_string(count) + " events",
                           [&] { return CheckpointSize(f_.node(node)) >= count; }));
  }

  std::string Vkey(const std::string& node) {
    std::string v = f_.node(node).Get("/log/vkey").body;
    if (!v.empty() && v.back() == '\n') v.pop_back();
    return v;
  }

  CommandResult Audit(const std::string& node, bool with_token, bool as_json = false) {
    std::vector<std::string> args = {AuditBinary(), "verify",        "--url",      f_.url(node),
                                     "--vkey",      Vkey(node),      "--manifest", manifest_,
                                     "--hub-key",   f_.hub_key_hex()};
    if (with_token) {
      args.push_back("--case-events-token");
      args.push_back(f_.auditor_token(node));
    }
    if (as_json) args.push_back("--json");
    return RunCommand(args);
  }

  Federation f_;
  std::string manifest_, bundle_;
};

// (a) 33's log holds its verification of a case whose submission is 32's, and 32's log the
// submission of a case 33 owns; a case 33 forwarded and 32 accepted runs across both logs too.
// Each log verifies as it is, counting those cases as continuing elsewhere; with the auditor's
// token each case's whole chain is fetched and verified.
TEST_F(CrossNodeAuditTest, CasesContinuingInOtherLogsVerifyAndTheirWholeChainsToo) {
  const std::string cross = FileCrossJurisdictionCase();
  auto local = f_.node("33").Post("/api/v1/complaints", {{"title", "Lampu jalan mati"},
                                                         {"description", "Sudah dua minggu."},
                                                         {"category", "infrastruktur"},
                                                         {"report_type", "pengaduan"},
                                                         {"region_code", "33"}});
  ASSERT_EQ(local.status, 201) << local.body;
  const std::string forwarded = local.Json()["tracking_id"];
  ASSERT_EQ(Act("33", forwarded, {{"action", "forward"}, {"to", "32"}}).status, 200);
  ASSERT_TRUE(Eventually("32 holds the forwarded case's 2 events",
                         [&] { return Events("32", forwarded).size() == 2; }));
  ASSERT_EQ(Act("32", forwarded, {{"action", "accept"}}).status, 200);
  ASSERT_EQ(Act("32", forwarded, {{"action", "verify"}, {"agency", "dinas-pu"}}).status, 200);
  ASSERT_TRUE(Eventually("33 holds 32's acceptance and verification of the forwarded case",
                         [&] { return Events("33", forwarded).size() == 4; }));
  WaitLogged("32");
  WaitLogged("33");

  for (const std::string node : {"33", "32"}) {
    auto plain = Audit(node, false);
    EXPECT_EQ(plain.exit_code, 0) << node << ": " << plain.output;
    EXPECT_NE(plain.output.find("2 cases continuing in other nodes' logs: OK"), std::string::npos)
        << node << ": " << plain.output;
    auto j = json::parse(Audit(node, false, true).output, nullptr, false);
    ASSERT_TRUE(j.is_object()) << node;
    std::vector<std::string> continuing = j["continuing_cases"];
    std::vector<std::string> expected = {cross, forwarded};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(continuing, expected) << node;

    auto whole = Audit(node, true);
    EXPECT_EQ(whole.exit_code, 0) << node << ": " << whole.output;
    EXPECT_NE(whole.output.find("(2 cross-node chains verified"), std::string::npos)
        << node << ": " << whole.output;
  }
  // The token needs the manifest: other nodes' keys come from it.
  auto no_manifest = RunCommand({AuditBinary(), "verify", "--url", f_.url("33"), "--vkey",
                                 Vkey("33"), "--case-events-token", f_.auditor_token("33")});
  EXPECT_NE(no_manifest.exit_code, 0) << no_manifest.output;
}

// A confidential whistle-blowing case filed at 32 about Semarang (33.74, owned by 33), verified
// and answered there. Its events in both public logs and everything the hub holds say only that
// it exists, its status and times: no title, description, category, report type, region, agency,
// location, attachment or note. The reporter at 32 and 33's admin read all of it, and each log
// with the case's whole chain still verifies without it.
TEST_F(CrossNodeAuditTest, AConfidentialCaseCrossesNodesWithItsContentSealed) {
  const std::string attachment = crypto::Sha256("bukti-foto-kwitansi");
  const double lat = -6.987654, lon = 110.412345;
  auto filed = f_.node("32").Post(
      "/api/v1/complaints",
      {{"title", "Pungutan liar di kantor samsat"},
       {"description", "Petugas meminta uang tambahan di luar tarif resmi."},
       {"category", "kepegawaian"},
       {"report_type", "whistleblowing"},
       {"region_code", "33.74"},
       {"target_agency", "inspektorat-jateng"},
       {"channel", "sms"},
       {"location", {{"lat", lat}, {"lon", lon}}},
       {"attachments",
        {{{"sha256", crypto::HexEncode(attachment)}, {"media_type", "image/png"}, {"size", 4242}}}},
       {"anonymous", true},
       {"confidential", true},
       {"reporter", {{"name", "Budi Santoso"}, {"nik", "3374010101010002"}}}});
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string id = filed.Json()["tracking_id"];
  const std::string code = filed.Json()["access_code"];
  ASSERT_TRUE(Eventually("33 holds the submission", [&] { return Events("33", id).size() == 1; }));
  ASSERT_EQ(Act("33", id, {{"action", "verify"}, {"agency", "inspektorat-jateng"}}).status, 200);
  auto responded = f_.node("33").Post(
      "/api/v1/complaints/" + id + "/actions",
      {{"action", "respond"}, {"note", "Petugas samsat sedang diperiksa inspektorat."}},
      f_.liaison_token("33", "inspektorat-jateng"));
  ASSERT_EQ(responded.status, 200) << responded.body;
  ASSERT_TRUE(
      Eventually("32 holds the case's 3 events", [&] { return Events("32", id).size() == 3; }));
  WaitLogged("32");
  WaitLogged("33");

  auto bytes_of = [](double d) { return std::string(reinterpret_cast<const char*>(&d), 8); };
  const std::vector<std::string> content = {"Pungutan liar",  "Petugas",      "kepegawaian",
                                            "whistleblowing", "33.74",        "inspektorat",
                                            "image/png",      attachment,     bytes_of(lat),
                                            bytes_of(lon),    "Budi Santoso", "3374010101010002"};
  auto expect_none = [&](const std::string& where, const std::string& data) {
    ASSERT_FALSE(data.empty()) << where;
    for (const auto& c : content) {
      EXPECT_EQ(data.find(c), std::string::npos) << where << " holds " << crypto::HexEncode(c);
    }
  };
  // The public logs: every entry, as anyone fetches it.
  for (const std::string node : {"32", "33"}) {
    const uint64_t size = CheckpointSize(f_.node(node));
    ASSERT_LT(size, 256u);
    auto entries = f_.node(node).Get("/log/tile/entries/000.p/" + std::to_string(size));
    ASSERT_EQ(entries.status, 200) << node;
    EXPECT_NE(entries.body.find(id), std::string::npos) << node << ": the case exists";
    expect_none(node + "'s public log", entries.body);
  }
  // The hub (which relays between members): every byte of its database.
  std::string hub_db;
  for (const char* file : {"/lapor.db", "/lapor.db-wal"}) {
    std::ifstream in(f_.hub().data_dir() + file, std::ios::binary);
    hub_db += std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  EXPECT_NE(hub_db.find(id), std::string::npos) << "the hub relayed none of the case";
  expect_none("the hub's database", hub_db);

  // Who may see the content still sees all of it.
  auto reporter =
      Http(f_.node("32").port(), "GET", "/api/v1/complaints/" + id, "", {{"X-Access-Code", code}});
  ASSERT_EQ(reporter.status, 200) << reporter.body;
  auto owner = f_.node("33").Get("/api/v1/complaints/" + id, f_.admin_token("33"));
  ASSERT_EQ(owner.status, 200) << owner.body;
  for (const auto& [who, view] :
       {std::pair{"the reporter at 32", reporter.Json()}, std::pair{"33's admin", owner.Json()}}) {
    EXPECT_EQ(view["title"], "Pungutan liar di kantor samsat") << who;
    EXPECT_EQ(view["category"], "kepegawaian") << who;
    EXPECT_EQ(view["report_type"], "whistleblowing") << who;
    EXPECT_EQ(view["region_code"], "33.74") << who;
    EXPECT_EQ(view["agency"], "inspektorat-jateng") << who;
    EXPECT_EQ(view["target_agency"], "inspektorat-jateng") << who;
    EXPECT_EQ(view["channel"], "sms") << who;
    EXPECT_DOUBLE_EQ(view["location"]["lat"].get<double>(), lat) << who;
    ASSERT_EQ(view["attachments"].size(), 1u) << who;
    EXPECT_EQ(view["attachments"][0]["sha256"], crypto::HexEncode(attachment)) << who;
    ASSERT_EQ(view["history"].size(), 3u) << who;
    EXPECT_EQ(view["history"][1]["agency"], "inspektorat-jateng") << who;
    EXPECT_EQ(view["history"][2]["note"], "Petugas samsat sedang diperiksa inspektorat.") << who;
  }
  // 32's auditor reads the signed events: the same sealed bytes.
  std::string signed_events;
  for (const auto& e : Events("32", id)) {
    signed_events += *crypto::Base64Decode(e["envelope"].get<std::string>());
  }
  expect_none("32's signed events", signed_events);

  for (const std::string node : {"32", "33"}) {
    auto whole = Audit(node, true);
    EXPECT_EQ(whole.exit_code, 0) << node << ": " << whole.output;
  }
}

// (b) Behind 33's back (stopped), the signature of 32's submission of one case is altered, and
// an event 32 signed on another case it does not own is added to 33's events of other nodes. The
// log itself still verifies; the cross-node check names both, by author and seq.
TEST_F(CrossNodeAuditTest, TamperedAndNonOwnerForeignEventsAreNamed) {
  const std::string tampered = FileCrossJurisdictionCase();
  const std::string usurped = FileCrossJurisdictionCase();
  WaitLogged("33");
  ASSERT_EQ(Audit("33", true).exit_code, 0);

  NodeProcess& n33 = f_.node("33");
  const std::string db = n33.data_dir() + "/lapor.db";
  n33.Stop();
  // The submission of `tampered` as 33 holds it: one bit of its signature flipped.
  auto ref = Sql(db, "SELECT ref FROM cases WHERE case_id = ?", {Text(tampered)});
  ASSERT_EQ(ref.size(), 1u);
  auto sub_seq =
      Sql(db, "SELECT author_seq FROM foreign_events WHERE case_ref = ? AND author = '32'",
          {Int(std::stoll(ref[0]))});
  ASSERT_EQ(sub_seq.size(), 1u);
  auto env = Sql(db, "SELECT envelope FROM foreign_events WHERE case_ref = ? AND author = '32'",
                 {Int(std::stoll(ref[0]))});
  ASSERT_EQ(env.size(), 1u);
  env[0].back() ^= 0x01;
  Sql(db, "UPDATE foreign_events SET envelope = ? WHERE case_ref = ? AND author = '32'",
      {Blob(env[0]), Int(std::stoll(ref[0]))});

  // 32 (with its real key, valid in the manifest) holds `usurped`, which 33 owns.
  auto uref = Sql(db, "SELECT ref FROM cases WHERE case_id = ?", {Text(usurped)});
  ASSERT_EQ(uref.size(), 1u);
  auto last = Sql(db, "SELECT hash FROM events WHERE case_ref = ? ORDER BY seq DESC LIMIT 1",
                  {Int(std::stoll(uref[0]))});
  ASSERT_EQ(last.size(), 1u);
  std::string secret_hex;
  std::ifstream(f_.node("32").data_dir() + "/node.key") >> secret_hex;
  auto key = crypto::SigningKey::FromSecretKey(*crypto::HexDecode(secret_hex));
  ASSERT_TRUE(key.ok());
  v1::Event ev;
  ev.set_node_id("32");
  ev.set_seq(1000000);
  ev.set_case_id(usurped);
  ev.set_time_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count());
  ev.mutable_actor()->set_kind(v1::ACTOR_OPERATOR);
  ev.mutable_actor()->set_operator_id(1);
  ev.mutable_actor()->set_role("admin");
  ev.set_type(v1::EVENT_HELD);
  ev.set_prev_hash(last[0]);
  ev.mutable_action()->set_note("diambil alih");
  const std::string bytes = SignEvent(ev, *key);
  Sql(db,
      "INSERT INTO foreign_events(hash, case_ref, author, author_seq, envelope, received_ms) "
      "VALUES(?, ?, '32', 1000000, ?, 0)",
      {Blob(crypto::Sha256(bytes)), Int(std::stoll(uref[0])), Blob(bytes)});
  n33.Start();

  auto plain = Audit("33", false);
  EXPECT_EQ(plain.exit_code, 0) << plain.output;  // 33's own log is intact
  auto r = Audit("33", true);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("index=32/" + sub_seq[0] + " case=" + tampered + ": event 32/" +
                          sub_seq[0] + ": signature does not verify under any key of node 32"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("index=32/1000000 case=" + usurped +
                          ": event 32/1000000: node 32 does not own the case (node 33 does)"),
            std::string::npos)
      << r.output;
}

// (c) 33's audit bundle carries the manifest it holds and 32's events of its cases: verified
// offline with the hub's key, the cross-node chain checks as online; a bundled manifest the hub
// did not sign fails.
TEST_F(CrossNodeAuditTest, BundleCarriesManifestAndOtherNodesEvents) {
  const std::string id = FileCrossJurisdictionCase();
  WaitLogged("33");
  NodeProcess& n33 = f_.node("33");
  auto exported = n33.Cli({"export-audit-bundle", "--data-dir", n33.data_dir(), "--out", bundle_});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  v1::AuditBundle bundle;
  {
    std::ifstream in(bundle_, std::ios::binary);
    ASSERT_TRUE(bundle.ParseFromIstream(&in));
  }
  EXPECT_FALSE(bundle.manifest().empty());
  ASSERT_EQ(bundle.case_events_size(), 1);  // 32's submission

  auto verify_bundle = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {AuditBinary(), "verify-bundle", bundle_, "--vkey", Vkey("33")};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCommand(args);
  };
  auto counted = verify_bundle({});
  EXPECT_EQ(counted.exit_code, 0) << counted.output;
  EXPECT_NE(counted.output.find("1 cases continuing in other nodes' logs: OK"), std::string::npos)
      << counted.output;
  auto ok = verify_bundle({"--hub-key", f_.hub_key_hex()});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("(1 cross-node chains verified, 1 other nodes' signatures)"),
            std::string::npos)
      << ok.output;

  // Without 32's event the chain has no submission.
  v1::AuditBundle cut = bundle;
  cut.clear_case_events();
  {
    std::ofstream out(bundle_, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(cut.SerializeToOstream(&out));
  }
  auto missing = verify_bundle({"--hub-key", f_.hub_key_hex()});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("case=" + id + ": the case's chain has no submission"),
            std::string::npos)
      << missing.output;

  // The same manifest, signed by someone else.
  auto held = protocol::OpenManifest(bundle.manifest(), *crypto::HexDecode(f_.hub_key_hex()));
  ASSERT_TRUE(held.ok());
  bundle.set_manifest(protocol::SignManifest(*held, crypto::SigningKey::Generate()));
  {
    std::ofstream out(bundle_, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(bundle.SerializeToOstream(&out));
  }
  auto swapped = verify_bundle({"--hub-key", f_.hub_key_hex()});
  EXPECT_EQ(swapped.exit_code, 1) << swapped.output;
  EXPECT_NE(swapped.output.find("the bundled manifest"), std::string::npos) << swapped.output;
}

// A bundle built by hand for node 33 (no processes): a case whose submission 32 signed (fine),
// one whose submission a non-member signed, one whose submission 32 signed with a retired key,
// one of 33's own whose second link follows nothing (a broken chain, not a continuing case), and
// one 33 forwarded to 32, which declined, after which 33 went on (a legitimate gap in 33's log).
TEST(CrossNodeAuditBundleTest, NonMemberRetiredKeyAndBrokenOwnChainAreNamed) {
  crypto::Init();
  const auto k32 = crypto::SigningKey::Generate();
  const auto k32_old = crypto::SigningKey::Generate();
  const auto k33 = crypto::SigningKey::Generate();
  const auto k34 = crypto::SigningKey::Generate();
  const auto hub = crypto::SigningKey::Generate();
  v1::Manifest m;
  ASSERT_TRUE(protocol::AddMember(&m, "32", "http://127.0.0.1:1", k32.public_key(), 0).ok());
  ASSERT_TRUE(protocol::AddMember(&m, "33", "http://127.0.0.1:2", k33.public_key(), 0).ok());
  auto* old_key = m.mutable_members(0)->add_keys();
  old_key->set_public_key(k32_old.public_key());
  old_key->set_valid_until_ms(1000);

  const int64_t t = 1'800'000'000'000;
  v1::AuditBundle bundle;
  uint64_t next33 = 0;
  auto event = [&](const std::string& node, uint64_t seq, const std::string& case_id,
                   v1::EventType type, const std::string& prev) {
    v1::Event ev;
    ev.set_node_id(node);
    ev.set_seq(seq);
    ev.set_case_id(case_id);
    ev.set_time_ms(t + static_cast<int64_t>(seq));
    ev.set_type(type);
    ev.set_prev_hash(prev);
    if (type == v1::EVENT_SUBMITTED) {
      ev.mutable_actor()->set_kind(v1::ACTOR_CITIZEN);
      auto* sub = ev.mutable_submission();
      sub->set_title("Jalan rusak");
      sub->set_report_type("pengaduan");
      sub->set_region_code("33");
      if (node != "33") sub->set_owner_node("33");  // filed elsewhere about 33's region
      sub->set_verify_due_ms(t + 3 * 86'400'000LL);
    } else {
      ev.mutable_actor()->set_kind(v1::ACTOR_OPERATOR);
      ev.mutable_actor()->set_role("admin");
      auto* a = ev.mutable_action();
      a->set_agency("dinas-pu");
      a->set_response_due_ms(t + 5 * 86'400'000LL);
      if (type == v1::EVENT_FORWARDED) a->set_to_node("32");
      if (type == v1::EVENT_DECLINED) a->set_reason("bukan wewenang kami");
    }
    return ev;
  };
  // 33's own event: appended to the log; returns its hash.
  auto log = [&](const std::string& case_id, v1::EventType type, const std::string& prev) {
    const std::string bytes = SignEvent(event("33", next33++, case_id, type, prev), k33);
    bundle.add_entries(bytes);
    return crypto::Sha256(bytes);
  };
  // Another node's event, bundled as one of the cases' other events; returns its hash.
  auto other = [&](const std::string& node, uint64_t seq, const std::string& case_id,
                   v1::EventType type, const std::string& prev, const crypto::SigningKey& key) {
    const std::string bytes = SignEvent(event(node, seq, case_id, type, prev), key);
    bundle.add_case_events(bytes);
    return crypto::Sha256(bytes);
  };
  const std::string a = "32-AAAAAAAAAA", b = "34-BBBBBBBBBB", c = "32-CCCCCCCCCC",
                    d = "33-DDDDDDDDDD", e = "33-EEEEEEEEEE";
  log(a, v1::EVENT_VERIFIED, other("32", 5, a, v1::EVENT_SUBMITTED, "", k32));      // 33/0
  log(b, v1::EVENT_VERIFIED, other("34", 1, b, v1::EVENT_SUBMITTED, "", k34));      // 33/1
  log(c, v1::EVENT_VERIFIED, other("32", 6, c, v1::EVENT_SUBMITTED, "", k32_old));  // 33/2
  log(d, v1::EVENT_SUBMITTED, "");                                                  // 33/3
  log(d, v1::EVENT_HELD, std::string(32, 'x'));                                     // 33/4
  const std::string e1 = log(e, v1::EVENT_SUBMITTED, "");                           // 33/5
  const std::string e2 = log(e, v1::EVENT_FORWARDED, e1);                           // 33/6
  log(e, v1::EVENT_VERIFIED, other("32", 7, e, v1::EVENT_DECLINED, e2, k32));       // 33/7

  const std::string origin = "lapor.go.id/node/33";
  crypto::CompactRange tree;
  for (const auto& entry : bundle.entries()) ASSERT_TRUE(tree.Append(crypto::LeafHash(entry)).ok());
  crypto::Checkpoint cp{origin, tree.size(), tree.Root(), {}};
  auto note = crypto::SignNote(cp.Body(), origin, k33);
  ASSERT_TRUE(note.ok());
  const std::string vkey = crypto::VerifierKeyString(origin, k33.public_key());
  bundle.set_vkey(vkey);
  bundle.set_checkpoint(*note);
  bundle.set_manifest(protocol::SignManifest(m, hub));
  const std::string path = MakeTempDir("lapor-audit-bundle") + "/bundle.pb";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(bundle.SerializeToOstream(&out));
  }

  // Without the hub's key: the log alone. `d`'s broken link is a failure; the rest continue.
  auto alone = RunCommand({AuditBinary(), "verify-bundle", path, "--vkey", vkey});
  EXPECT_EQ(alone.exit_code, 1) << alone.output;
  EXPECT_NE(alone.output.find("index=4 case=" + d +
                              ": case history: prev_hash does not match the case's last event"),
            std::string::npos)
      << alone.output;
  EXPECT_NE(alone.output.find("4 cases continuing in other nodes' logs"), std::string::npos)
      << alone.output;

  auto r = RunCommand({AuditBinary(), "verify-bundle", path, "--vkey", vkey, "--hub-key",
                       crypto::HexEncode(hub.public_key()), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto j = json::parse(r.output, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.output;
  EXPECT_EQ(j["continuing_cases"], json({a, c, e, b}));       // sorted
  EXPECT_EQ(j["cross_node_chains_verified"], 2) << r.output;  // a and e
  auto failure = [&](const std::string& case_id, const std::string& text) -> json {
    for (const auto& f : j["failures"]) {
      if (f["case"] == case_id && f["reason"].get<std::string>().find(text) != std::string::npos)
        return f;
    }
    return nullptr;
  };
  json non_member = failure(b, "event 34/1: node '34' is not a federation member");
  ASSERT_FALSE(non_member.is_null()) << r.output;
  EXPECT_EQ(non_member["author"], "34");
  EXPECT_EQ(non_member["index"], 1);
  EXPECT_EQ(non_member["node"], origin);
  json retired = failure(c, "event 32/6: signed by key ");
  ASSERT_FALSE(retired.is_null()) << r.output;
  EXPECT_NE(retired["reason"].get<std::string>().find("of node 32, which is not valid at"),
            std::string::npos);
  EXPECT_FALSE(failure(d, "case history: prev_hash does not match").is_null()) << r.output;
  for (const auto& f : j["failures"]) {
    EXPECT_NE(f["case"], a) << f.dump();
    EXPECT_NE(f["case"], e) << f.dump();
  }
}

}  // namespace
}  // namespace lapor::testing
