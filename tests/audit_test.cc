// lapor-audit against a real node: a clean log verifies; an altered entry, a rewritten history
// (against the saved state), a wrong key and a deleted entry each fail, naming what and where.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/note.h"
#include "federation/manifest.h"
#include "lapor/v1/event.pb.h"
#include "tests/harness/node_process.h"

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
    for (int i = 0; i < 200 && Size() < 301; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
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

TEST_F(AuditTest, AlteredHashTileIsNamed) {
  // The stored level-8 node behind tile 1/000.p/1 changes: entries and checkpoint still agree,
  // but the tile a client would use for proofs lies.
  auto r0 = Audit(vkey_, false);
  ASSERT_EQ(r0.exit_code, 0) << r0.output;
  auto sql = RunCommand({"/usr/bin/sqlite3", node_->data_dir() + "/lapor.db",
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
    std::ofstream(path, std::ios::binary) << federation::SignManifest(m, signer);
    return path;
  };
  auto audit = [&](const std::string& manifest, const crypto::SigningKey& pinned) {
    return RunCommand({AuditBinary(), "verify", "--url",
                       "http://127.0.0.1:" + std::to_string(node_->port()), "--vkey", vkey_,
                       "--manifest", manifest, "--hub-key",
                       crypto::HexEncode(pinned.public_key())});
  };
  v1::Manifest good;
  ASSERT_TRUE(federation::AddMember(&good, "32", "http://127.0.0.1:1", node_key, 0).ok());
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
  ASSERT_TRUE(federation::AddMember(&stranger, "33", "http://127.0.0.1:1", node_key, 0).ok());
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

}  // namespace
}  // namespace lapor::testing
