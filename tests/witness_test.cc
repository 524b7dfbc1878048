// The hub witnesses a province's log (C2SP tlog-witness add-checkpoint): it cosigns consistent
// checkpoints, answers 409 with its size when stale, 422 on a bad proof, 403/404 for wrong keys
// and unknown logs, and records a fork (two validly signed, inconsistent checkpoints) as an alert.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "harness/eventually.h"
#include "harness/node_process.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string root = MakeTempDir("lapor-witness");
    province_ = std::make_unique<NodeProcess>(root + "/province");
    province_->Init("32");
    province_->Start();
    province_vkey_ = Body(province_->Get("/log/vkey"));
    hub_ = std::make_unique<NodeProcess>(root + "/hub");
    hub_->Init("00");
    // As an operator sets it up: `witness cosign` with the member's log key.
    auto cosign =
        hub_->Cli({"witness", "cosign", "--data-dir", hub_->data_dir(), "--vkey", province_vkey_});
    ASSERT_EQ(cosign.exit_code, 0) << cosign.output;
    ASSERT_EQ(hub_->Config()["witness_of"], json::array({province_vkey_}));
    auditor_ = hub_->AddOperator("Auditor", "auditor");
    hub_->Start();
  }

  static std::string Body(const HttpResponse& r) {
    std::string b = r.body;
    if (!b.empty() && b.back() == '\n') b.pop_back();
    return b;
  }

  void File(int n) {
    for (int i = 0; i < n; ++i) {
      json c = {{"title", "Banjir " + std::to_string(i)},
                {"description", "Drainase tersumbat."},
                {"category", "drainase"},
                {"report_type", "aspirasi"},
                {"region_code", "32.04"}};
      ASSERT_EQ(province_->Post("/api/v1/complaints", c).status, 201);
    }
  }

  // The province's checkpoint once it covers `size` entries.
  std::pair<std::string, crypto::Checkpoint> Checkpoint(uint64_t size) {
    std::pair<std::string, crypto::Checkpoint> seen;
    const auto reached =
        Eventually("the province's checkpoint covers " + std::to_string(size) + " entries", [&] {
          seen.first = province_->Get("/log/checkpoint").body;
          auto parsed = crypto::SignedNote::Parse(seen.first);
          auto cp = crypto::Checkpoint::ParseBody(parsed->text);
          seen.second = *cp;
          return cp->size >= size;
        });
    if (reached) return seen;
    ADD_FAILURE() << reached.message();
    return {};
  }

  std::string Proof(uint64_t old_size, uint64_t new_size) {
    if (old_size == 0) return "";
    auto j = province_
                 ->Get("/log/proof/consistency?old=" + std::to_string(old_size) +
                       "&new=" + std::to_string(new_size))
                 .Json();
    std::string lines;
    for (const auto& h : j["proof"]) lines += h.get<std::string>() + "\n";
    return lines;
  }

  HttpResponse AddCheckpoint(uint64_t old_size, const std::string& proof, const std::string& note) {
    return Http(hub_->port(), "POST", "/witness/add-checkpoint",
                "old " + std::to_string(old_size) + "\n" + proof + "\n" + note,
                {{"Content-Type", "text/plain"}});
  }

  std::unique_ptr<NodeProcess> province_, hub_;
  std::string province_vkey_, auditor_;
};

TEST_F(WitnessTest, CosignsConsistentCheckpointsAndRefusesTheRest) {
  File(10);
  auto [note1, cp1] = Checkpoint(10);
  auto first = AddCheckpoint(0, "", note1);
  ASSERT_EQ(first.status, 200) << first.body;
  // The cosignature verifies against the hub's cosigner key, over the province's checkpoint.
  auto cosigner = crypto::NoteVerifier::Parse(Body(hub_->Get("/witness/vkey")));
  ASSERT_TRUE(cosigner.ok());
  auto cosigned = crypto::SignedNote::Parse(note1 + first.body);
  ASSERT_TRUE(cosigned.ok()) << note1 + first.body;
  uint64_t ts = 0;
  EXPECT_TRUE(crypto::VerifyCosignature(*cosigned, *cosigner, &ts).ok());
  EXPECT_GT(ts, 1700000000u);

  File(300);
  auto [note2, cp2] = Checkpoint(310);
  auto second = AddCheckpoint(cp1.size, Proof(cp1.size, cp2.size), note2);
  EXPECT_EQ(second.status, 200) << second.body;

  // Stale: the witness says what size it holds.
  auto stale = AddCheckpoint(cp1.size, Proof(cp1.size, cp2.size), note2);
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(Body(stale), std::to_string(cp2.size));
  EXPECT_EQ(stale.headers["content-type"], "text/x.tlog.size");

  // A proof that does not verify.
  File(5);
  auto [note3, cp3] = Checkpoint(cp2.size + 5);
  std::string bad = Proof(cp2.size, cp3.size);
  bad[0] = bad[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(AddCheckpoint(cp2.size, bad, note3).status, 422);
  // Unknown log; wrong signature; malformed.
  auto stranger = crypto::SigningKey::Generate();
  crypto::Checkpoint other{"lapor.go.id/node/33", 1, crypto::EmptyRoot(), {}};
  EXPECT_EQ(
      AddCheckpoint(0, "", *crypto::SignNote(other.Body(), "lapor.go.id/node/33", stranger)).status,
      404);
  EXPECT_EQ(
      AddCheckpoint(cp2.size, "", *crypto::SignNote(cp3.Body(), "lapor.go.id/node/32", stranger))
          .status,
      403);
  EXPECT_EQ(Http(hub_->port(), "POST", "/witness/add-checkpoint", "hello",
                 {{"Content-Type", "text/plain"}})
                .status,
            400);
  // No alerts for any of this: nothing contradicted a cosigned checkpoint.
  EXPECT_EQ(hub_->Get("/federation/v1/alerts", auditor_).Json()["alerts"].size(), 0u);
  EXPECT_EQ(hub_->Get("/federation/v1/alerts").status, 401);
}

TEST_F(WitnessTest, ForkedCheckpointIsRecordedAsEquivocation) {
  File(20);
  auto [note1, cp1] = Checkpoint(20);
  ASSERT_EQ(AddCheckpoint(0, "", note1).status, 200);
  // The province's key signs a second, different tree of the same size (a fork).
  std::ifstream key_file(province_->data_dir() + "/node.key");
  std::string hex;
  key_file >> hex;
  auto key = crypto::SigningKey::FromSecretKey(*crypto::HexDecode(hex));
  ASSERT_TRUE(key.ok());
  crypto::Checkpoint forked = cp1;
  forked.root_hash = crypto::Sha256("another history");
  auto forged = crypto::SignNote(forked.Body(), "lapor.go.id/node/32", *key);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(AddCheckpoint(cp1.size, "", *forged).status, 422);
  auto alerts = hub_->Get("/federation/v1/alerts", auditor_).Json()["alerts"];
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["kind"], "equivocation");
  EXPECT_EQ(alerts[0]["origin"], "lapor.go.id/node/32");
  EXPECT_EQ(alerts[0]["checkpoints"][0], note1);
  EXPECT_EQ(alerts[0]["checkpoints"][1], *forged);
  // The honest continuation is still cosigned.
  File(3);
  auto [note2, cp2] = Checkpoint(23);
  EXPECT_EQ(AddCheckpoint(cp1.size, Proof(cp1.size, cp2.size), note2).status, 200);
}

TEST_F(WitnessTest, NodeGetsItsCheckpointsCosignedAndServesThem) {
  const std::string cosigner_vkey = Body(hub_->Get("/witness/vkey"));
  // The same key from the hub's data folder, with no request (what deploy/federation.sh uses).
  auto offline = hub_->Cli({"vkey", "--witness", "--data-dir", hub_->data_dir()});
  ASSERT_EQ(offline.exit_code, 0) << offline.output;
  EXPECT_EQ(offline.output, cosigner_vkey + "\n");
  ASSERT_EQ(province_->Stop(), 0);
  const std::string hub_url = "http://127.0.0.1:" + std::to_string(hub_->port());
  const std::string dir = province_->data_dir();
  // The CLI refuses what would never work, naming the option, and leaves node.json alone.
  auto log_key = province_->Cli(
      {"witness", "add", "--data-dir", dir, "--url", hub_url, "--vkey", province_vkey_});
  EXPECT_EQ(log_key.exit_code, 2) << log_key.output;
  EXPECT_NE(log_key.output.find("cosigner key"), std::string::npos) << log_key.output;
  auto bad_url = province_->Cli(
      {"witness", "add", "--data-dir", dir, "--url", "hub:8080", "--vkey", cosigner_vkey});
  EXPECT_EQ(bad_url.exit_code, 2) << bad_url.output;
  EXPECT_NE(bad_url.output.find("--url"), std::string::npos) << bad_url.output;
  auto junk = province_->Cli(
      {"witness", "add", "--data-dir", dir, "--url", hub_url, "--vkey", "not+a+key"});
  EXPECT_EQ(junk.exit_code, 2) << junk.output;
  EXPECT_FALSE(province_->Config().contains("witnesses"));
  auto absent = province_->Cli({"witness", "remove", "--data-dir", dir, "--url", hub_url});
  EXPECT_EQ(absent.exit_code, 1) << absent.output;
  auto add = province_->Cli(
      {"witness", "add", "--data-dir", dir, "--url", hub_url, "--vkey", cosigner_vkey});
  ASSERT_EQ(add.exit_code, 0) << add.output;
  auto listed = province_->Cli({"witness", "list", "--data-dir", dir});
  EXPECT_EQ(listed.output, "witness " + hub_url + " " + cosigner_vkey + "\n");
  province_->Start();
  auto cosigner = crypto::NoteVerifier::Parse(cosigner_vkey);
  ASSERT_TRUE(cosigner.ok());
  for (int round = 0; round < 2; ++round) {
    File(30);
    const uint64_t want = 30 * (round + 1);
    bool unparsable = false;  // the province served a checkpoint that is no signed note
    const auto cosigned = Eventually(
        "the province serves a checkpoint of size " + std::to_string(want) + " cosigned by the hub",
        [&] {
          auto note = crypto::SignedNote::Parse(province_->Get("/log/checkpoint").body);
          unparsable = !note.ok();
          if (unparsable) return true;  // no use waiting: fails below
          auto cp = crypto::Checkpoint::ParseBody(note->text);
          uint64_t ts = 0;
          return cp->size >= want && crypto::VerifyCosignature(*note, *cosigner, &ts).ok();
        });
    ASSERT_FALSE(unparsable) << "round " << round << ": the checkpoint is no signed note";
    EXPECT_TRUE(cosigned) << "round " << round << ": no cosigned checkpoint of size " << want;
  }
  // The cosigned checkpoint is what the audit bundle carries, and it still verifies as the log's.
  auto note = crypto::SignedNote::Parse(province_->Get("/log/checkpoint").body);
  EXPECT_TRUE(crypto::VerifyNote(*note, *crypto::NoteVerifier::Parse(province_vkey_)).ok());
  EXPECT_EQ(note->sigs.size(), 2u);  // the log's own signature and one cosignature
}

}  // namespace
}  // namespace lapor::testing
