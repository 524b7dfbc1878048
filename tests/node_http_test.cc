// Integration tests against the real lapor-node binary: the lifecycle over HTTP, roles, views,
// signed events, restart, personal data erasure, and a table of malformed requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "lapor/v1/event.pb.h"
#include "tests/harness/node_process.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

json Complaint(const std::string& title = "Jalan berlubang di depan SDN 1") {
  return json{{"title", title},
              {"description", "Jalan berlubang sejak sebulan, sudah dua pengendara jatuh."},
              {"category", "infrastruktur"},
              {"report_type", "pengaduan"},
              {"region_code", "32.04"},
              {"channel", "web"},
              {"location", {{"lat", -6.91}, {"lon", 107.61}, {"address", "Jl. Merdeka No. 1"}}},
              {"reporter",
               {{"name", "Siti Aminah"},
                {"nik", "3204123456789012"},
                {"phone", "+6281234567890"},
                {"email", "siti@example.org"}}}};
}

class NodeHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NodeProcess>(MakeTempDir("lapor-http") + "/node");
    node_->Init("32");
    admin_ = node_->AddOperator("Admin Jabar", "admin");
    liaison_ = node_->AddOperator("Penghubung PU", "liaison", "dinas-pu");
    other_liaison_ = node_->AddOperator("Penghubung Dinkes", "liaison", "dinas-kesehatan");
    auditor_ = node_->AddOperator("Auditor", "auditor");
    node_->Start();
  }

  json Act(const std::string& id, json body, const std::string& token, int expect) {
    auto r = node_->Post("/api/v1/complaints/" + id + "/actions", body, token);
    EXPECT_EQ(r.status, expect) << body.dump() << " -> " << r.body;
    return r.Json();
  }

  std::unique_ptr<NodeProcess> node_;
  std::string admin_, liaison_, other_liaison_, auditor_;
};

// Operators tell the node's threads apart in `top -H` and `ps -L` by their names.
TEST_F(NodeHttpTest, BackgroundThreadsAreNamed) {
  const std::string tasks = "/proc/" + std::to_string(node_->pid()) + "/task";
  const std::vector<std::string> want = {"lapor-commit", "lapor-walckpt", "lapor-integrate",
                                         "lapor-sla"};
  std::set<std::string> names;
  // The loops start just after the node begins to serve: give them a moment.
  for (int attempt = 0; attempt < 50; ++attempt) {
    names.clear();
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      names.insert(name);
    }
    if (std::all_of(want.begin(), want.end(), [&](const auto& n) { return names.count(n); })) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const auto& n : want) EXPECT_EQ(names.count(n), 1u) << n;
}

TEST_F(NodeHttpTest, WholeLifecycleWithRolesAndViews) {
  auto created = node_->Post("/api/v1/complaints", Complaint());
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = created.Json();
  const std::string id = c["tracking_id"];
  const std::string code = c["access_code"];
  EXPECT_EQ(id.substr(0, 3), "32-");
  EXPECT_EQ(id.size(), 13u);
  EXPECT_EQ(c["status"], "belum_terverifikasi");
  EXPECT_TRUE(c["due_at"].is_string());

  // Public view: the reporter's name only; no NIK, phone, email, address or history.
  auto pub = node_->Get("/api/v1/complaints/" + id).Json();
  EXPECT_EQ(pub["reporter"], json({{"name", "Siti Aminah"}}));
  EXPECT_FALSE(pub["location"].contains("address"));
  EXPECT_FALSE(pub.contains("history"));
  EXPECT_EQ(pub["overdue"], false);

  // Roles: nobody, liaison and auditor may not verify; an admin may.
  Act(id, {{"action", "verify"}, {"agency", "dinas-pu"}}, "", 401);
  Act(id, {{"action", "verify"}, {"agency", "dinas-pu"}}, liaison_, 403);
  Act(id, {{"action", "verify"}, {"agency", "dinas-pu"}}, auditor_, 403);
  Act(id, {{"action", "verify"}, {"agency", "dinas-pu"}}, "lpt_NOTATOKEN", 401);
  auto wrong = Act(id, {{"action", "dispose"}, {"agency", "dinas-pu"}}, admin_, 409);
  EXPECT_NE(wrong["error"]["message"].get<std::string>().find("belum_terverifikasi"),
            std::string::npos);
  auto v = Act(id, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);
  EXPECT_EQ(v["status"], "terdisposisi");
  EXPECT_EQ(v["agency"], "dinas-pu");
  EXPECT_EQ(v["due_kind"], "response");

  // Only the liaison of the case's agency may act on it.
  Act(id, {{"action", "process"}}, other_liaison_, 403);
  EXPECT_EQ(Act(id, {{"action", "process"}}, liaison_, 200)["status"], "diproses");
  Act(id, {{"action", "complete"}}, liaison_, 409);  // no response yet
  auto resp = Act(id, {{"action", "respond"}, {"note", "Perbaikan dijadwalkan pekan depan."}},
                  liaison_, 200);
  EXPECT_EQ(resp["responded"], true);
  EXPECT_TRUE(resp["auto_complete_at"].is_string());

  // The reporter replies with the access code; a wrong code is refused.
  Act(id, {{"action", "reply"}, {"note", "Terima kasih"}, {"access_code", "WRONGCODE"}}, "", 401);
  auto reply =
      Act(id, {{"action", "reply"}, {"note", "Kapan tepatnya?"}, {"access_code", code}}, "", 200);
  EXPECT_TRUE(reply["auto_complete_at"].is_null());
  Act(id, {{"action", "reply"}, {"note", "x"}, {"access_code", code}}, admin_, 403);
  Act(id, {{"action", "respond"}, {"note", "Senin, 1 Desember."}}, liaison_, 200);
  EXPECT_EQ(Act(id, {{"action", "complete"}}, liaison_, 200)["status"], "selesai");
  EXPECT_EQ(Act(id, {{"action", "reopen"}, {"access_code", code}}, "", 200)["status"], "diproses");
  Act(id, {{"action", "respond"}, {"note", "Sudah diperbaiki."}}, liaison_, 200);
  Act(id, {{"action", "complete"}}, liaison_, 200);

  // Full view with the access code: personal data and the whole history.
  auto full = node_->Get("/api/v1/complaints/" + id + "?access_code=" + code).Json();
  EXPECT_EQ(full["reporter"]["nik"], "3204123456789012");
  EXPECT_EQ(full["location"]["address"], "Jl. Merdeka No. 1");
  ASSERT_EQ(full["history"].size(), 10u);
  EXPECT_EQ(full["history"][0]["type"], "submitted");
  EXPECT_EQ(full["history"][9]["type"], "completed");
  EXPECT_EQ(full["history"][3]["note"], "Perbaikan dijadwalkan pekan depan.");
  EXPECT_EQ(full["history"][4]["actor"]["kind"], "reporter");
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "?access_code=NOPE").status, 401);

  // Signed events: each verifies against the node's key, seq increases, the chain links.
  auto ev = node_->Get("/api/v1/complaints/" + id + "/events").Json();
  ASSERT_EQ(ev["events"].size(), 10u);
  auto pub_key = crypto::HexDecode(node_->PublicKeyHex());
  ASSERT_TRUE(pub_key);
  std::string prev;
  for (const auto& e : ev["events"]) {
    auto bytes = crypto::Base64Decode(e["envelope"].get<std::string>());
    ASSERT_TRUE(bytes);
    EXPECT_EQ(crypto::HexEncode(crypto::Sha256(*bytes)), e["hash"]);
    v1::Envelope env;
    ASSERT_TRUE(env.ParseFromString(*bytes));
    ASSERT_EQ(env.signatures_size(), 1);
    EXPECT_TRUE(crypto::VerifySignature(*pub_key,
                                        crypto::PreAuthEncoding(env.payload_type(), env.payload()),
                                        env.signatures(0).sig()));
    v1::Event event;
    ASSERT_TRUE(event.ParseFromString(env.payload()));
    EXPECT_EQ(event.prev_hash(), prev);
    EXPECT_EQ(event.case_id(), id);
    // No personal data in the signed payload.
    for (const char* pii :
         {"Siti Aminah", "3204123456789012", "6281234567890", "siti@example", "Jl. Merdeka"}) {
      EXPECT_EQ(env.payload().find(pii), std::string::npos) << pii;
    }
    prev = crypto::Sha256(*bytes);
  }
  auto fsck = node_->Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
}

TEST_F(NodeHttpTest, HoldArchiveDisposeAndListFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = node_->Post("/api/v1/complaints", Complaint("Keluhan nomor " + std::to_string(i)));
    ASSERT_EQ(r.status, 201);
    ids.push_back(r.Json()["tracking_id"]);
  }
  Act(ids[0], {{"action", "hold"}}, admin_, 200);
  Act(ids[0], {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);
  Act(ids[0], {{"action", "dispose"}, {"agency", "dinas-pu"}}, admin_, 400);  // same agency
  auto d = Act(ids[0], {{"action", "dispose"}, {"agency", "dinas-kesehatan"}}, admin_, 200);
  EXPECT_EQ(d["agency"], "dinas-kesehatan");
  Act(ids[0], {{"action", "process"}}, liaison_, 403);  // no longer their agency
  Act(ids[1], {{"action", "archive"}, {"reason", "duplicate"}}, admin_, 400);
  Act(ids[1], {{"action", "archive"}, {"reason", "duplicate"}, {"duplicate_of", "32-AAAAAAAAAA"}},
      admin_, 400);
  auto a = Act(ids[1], {{"action", "archive"}, {"reason", "duplicate"}, {"duplicate_of", ids[2]}},
               admin_, 200);
  EXPECT_EQ(a["status"], "arsip");
  Act(ids[1], {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 409);
  Act(ids[3], {{"action", "archive"}, {"reason", "not_our_authority"}}, admin_, 200);

  EXPECT_EQ(node_->Get("/api/v1/complaints").status, 401);
  auto all = node_->Get("/api/v1/complaints?limit=2", auditor_).Json();
  ASSERT_EQ(all["items"].size(), 2u);
  EXPECT_EQ(all["items"][0]["tracking_id"], ids[4]);  // newest first
  auto page2 =
      node_
          ->Get("/api/v1/complaints?limit=2&cursor=" + all["next_cursor"].get<std::string>(),
                auditor_)
          .Json();
  ASSERT_EQ(page2["items"].size(), 2u);
  EXPECT_EQ(page2["items"][0]["tracking_id"], ids[2]);
  auto page3 =
      node_
          ->Get("/api/v1/complaints?limit=2&cursor=" + page2["next_cursor"].get<std::string>(),
                auditor_)
          .Json();
  ASSERT_EQ(page3["items"].size(), 1u);
  EXPECT_TRUE(page3["next_cursor"].is_null());

  auto archived = node_->Get("/api/v1/complaints?status=arsip", admin_).Json();
  EXPECT_EQ(archived["items"].size(), 2u);
  auto pu =
      node_->Get("/api/v1/complaints?agency=dinas-kesehatan&status=terdisposisi", admin_).Json();
  ASSERT_EQ(pu["items"].size(), 1u);
  EXPECT_EQ(pu["items"][0]["tracking_id"], ids[0]);
  // A liaison sees only its own agency's cases.
  EXPECT_EQ(node_->Get("/api/v1/complaints", other_liaison_).Json()["items"].size(), 1u);
  EXPECT_EQ(node_->Get("/api/v1/complaints?agency=dinas-pu", other_liaison_).status, 403);
  EXPECT_EQ(node_->Get("/api/v1/complaints?overdue=true", admin_).Json()["items"].size(), 0u);
  EXPECT_EQ(
      node_->Get("/api/v1/complaints?overdue=false&report_type=pengaduan&region_code=32.04", admin_)
          .Json()["items"]
          .size(),
      5u);
  EXPECT_EQ(node_->Fsck().exit_code, 0);
}

TEST_F(NodeHttpTest, AnonymousConfidentialAndErasure) {
  json anon = Complaint();
  anon["anonymous"] = true;
  auto a = node_->Post("/api/v1/complaints", anon).Json();
  auto pub = node_->Get("/api/v1/complaints/" + a["tracking_id"].get<std::string>()).Json();
  EXPECT_FALSE(pub.contains("reporter")) << pub.dump();
  EXPECT_EQ(pub["anonymous"], true);

  json conf = Complaint("Rahasia: pungutan liar di kantor kecamatan");
  conf["confidential"] = true;
  conf["report_type"] = "whistleblowing";
  auto c = node_->Post("/api/v1/complaints", conf).Json();
  const std::string cid = c["tracking_id"];
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid).status, 404);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid + "/events").status, 404);
  auto full =
      node_
          ->Get("/api/v1/complaints/" + cid + "?access_code=" + c["access_code"].get<std::string>())
          .Json();
  EXPECT_EQ(full["title"], "Rahasia: pungutan liar di kantor kecamatan");
  auto admin_view = node_->Get("/api/v1/complaints/" + cid, admin_).Json();
  EXPECT_EQ(admin_view["description"], conf["description"]);
  Act(cid, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);
  Act(cid, {{"action", "respond"}, {"note", "Petugas sudah diperiksa inspektorat."}}, liaison_,
      200);
  // The confidential title, description and note are not in any signed payload.
  auto ev = node_->Get("/api/v1/complaints/" + cid + "/events", admin_).Json();
  for (const auto& e : ev["events"]) {
    auto bytes = *crypto::Base64Decode(e["envelope"].get<std::string>());
    EXPECT_EQ(bytes.find("pungutan"), std::string::npos);
    EXPECT_EQ(bytes.find("Jalan berlubang"), std::string::npos);
    EXPECT_EQ(bytes.find("inspektorat"), std::string::npos);
  }
  auto with_note = node_->Get("/api/v1/complaints/" + cid, admin_).Json();
  EXPECT_EQ(with_note["history"][2]["note"], "Petugas sudah diperiksa inspektorat.");

  // Erasure keeps every signature and fsck clean.
  auto erase = node_->Cli({"pii", "erase", cid, "--data-dir", node_->data_dir()});
  EXPECT_EQ(erase.exit_code, 0) << erase.output;
  auto after = node_->Get("/api/v1/complaints/" + cid, admin_).Json();
  EXPECT_EQ(after["reporter"], json({{"erased", true}}));
  EXPECT_EQ(node_->Cli({"pii", "erase", cid, "--data-dir", node_->data_dir()}).exit_code, 1);
  EXPECT_NE(
      node_->Cli({"pii", "erase", "32-NOSUCHCASE", "--data-dir", node_->data_dir()}).exit_code, 0);
  auto fsck = node_->Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;

  // Personal data never reaches the log.
  node_->Stop();
  std::ifstream log(node_->data_dir() + "/node.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  for (const char* pii : {"Siti", "3204123456789012", "6281234567890", "siti@example"}) {
    EXPECT_EQ(text.find(pii), std::string::npos) << pii;
  }
}

TEST_F(NodeHttpTest, RestartKeepsEverythingAndStopsCleanly) {
  std::vector<std::pair<std::string, std::string>> cases;
  for (int i = 0; i < 20; ++i) {
    auto r = node_->Post("/api/v1/complaints", Complaint()).Json();
    cases.emplace_back(r["tracking_id"], r["access_code"]);
  }
  Act(cases[0].first, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);
  EXPECT_EQ(node_->Stop(), 0);  // SIGTERM: finish, flush, exit 0
  node_->Start();
  for (const auto& [id, code] : cases) {
    EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "?access_code=" + code).status, 200);
  }
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cases[0].first).Json()["status"], "terdisposisi");
  node_->Kill9();
  node_->Start();
  EXPECT_EQ(node_->Get("/healthz").Json()["next_seq"], 21);
  Act(cases[0].first, {{"action", "process"}}, liaison_, 200);
  EXPECT_EQ(node_->Get("/healthz").Json()["next_seq"], 22);
  EXPECT_EQ(node_->Fsck().exit_code, 0);
}

TEST_F(NodeHttpTest, CliRefusesBadInput) {
  EXPECT_NE(node_->Cli({"init", "--data-dir", node_->data_dir(), "--jurisdiction", "32"}).exit_code,
            0);
  auto dir = MakeTempDir("lapor-cli");
  for (const char* bad : {"99", "32.99", "", "3204", "00.01"}) {
    auto r = node_->Cli({"init", "--data-dir", dir + "/x", "--jurisdiction", bad});
    EXPECT_NE(r.exit_code, 0) << bad;
  }
  EXPECT_EQ(node_->Cli({"init", "--data-dir", dir + "/hub", "--jurisdiction", "00"}).exit_code, 0);
  EXPECT_EQ(node_->Cli({"init", "--data-dir", dir + "/kab", "--jurisdiction", "32.04"}).exit_code,
            0);
  auto again = node_->Cli({"init", "--data-dir", dir + "/kab", "--jurisdiction", "32.04"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("already"), std::string::npos);
  EXPECT_NE(
      node_->Cli({"operator", "add", "--data-dir", dir + "/kab", "--name", "x", "--role", "root"})
          .exit_code,
      0);
  EXPECT_NE(
      node_
          ->Cli({"operator", "add", "--data-dir", dir + "/kab", "--name", "x", "--role", "liaison"})
          .exit_code,
      0);
  EXPECT_NE(node_->Cli({"fsck", "--data-dir", dir + "/nothing"}).exit_code, 0);
  EXPECT_NE(node_->Cli({"run", "--data-dir", dir + "/kab", "--listen", "nohost"}).exit_code, 0);
  EXPECT_NE(node_->Cli({"frobnicate"}).exit_code, 0);
}

// Each malformed request gets its 4xx with a JSON error body, and nothing changes.
TEST_F(NodeHttpTest, BadInputTableGets4xxAndChangesNothing) {
  auto ok = node_->Post("/api/v1/complaints", Complaint()).Json();
  const std::string id = ok["tracking_id"];
  const std::string code = ok["access_code"];
  const std::string actions = "/api/v1/complaints/" + id + "/actions";
  const std::map<std::string, std::string> kJson = {{"Content-Type", "application/json"}};
  auto with = [](json base, const std::string& key, json value) {
    base[key] = std::move(value);
    return base.dump();
  };
  auto without = [](json base, const std::string& key) {
    base.erase(key);
    return base.dump();
  };
  json c = Complaint();
  json r = c;
  r["reporter"]["nik"] = "12345";

  struct Case {
    std::string name, method, path, body;
    std::map<std::string, std::string> headers;
    int status;
    std::string field;  // expected error.field, "" = not checked
  };
  std::string big(70 * 1024, 'x');  // 0x11800 bytes
  std::vector<Case> table = {
      {"malformed JSON", "POST", "/api/v1/complaints", "{\"title\": ", kJson, 400, "body"},
      {"not an object", "POST", "/api/v1/complaints", "[1,2,3]", kJson, 400, "body"},
      {"JSON string", "POST", "/api/v1/complaints", "\"hello\"", kJson, 400, "body"},
      {"empty body", "POST", "/api/v1/complaints", "", kJson, 400, "body"},
      {"trailing garbage", "POST", "/api/v1/complaints", c.dump() + "}", kJson, 400, "body"},
      {"invalid UTF-8", "POST", "/api/v1/complaints",
       "{\"title\":\"\xff\xfe\",\"description\":\"d\"}", kJson, 400, "body"},
      {"overlong UTF-8", "POST", "/api/v1/complaints",
       with(c, "title", "x").replace(10, 1, "\xc0\xaf"), kJson, 400, ""},
      {"title missing", "POST", "/api/v1/complaints", without(c, "title"), kJson, 400, "title"},
      {"title a number", "POST", "/api/v1/complaints", with(c, "title", 42), kJson, 400, "title"},
      {"title empty", "POST", "/api/v1/complaints", with(c, "title", ""), kJson, 400, "title"},
      {"title blank", "POST", "/api/v1/complaints", with(c, "title", "   "), kJson, 400, "title"},
      {"title too long", "POST", "/api/v1/complaints", with(c, "title", std::string(201, 'a')),
       kJson, 400, "title"},
      {"description too long", "POST", "/api/v1/complaints",
       with(c, "description", std::string(10001, 'a')), kJson, 400, "description"},
      {"description null", "POST", "/api/v1/complaints", with(c, "description", nullptr), kJson,
       400, "description"},
      {"category bad chars", "POST", "/api/v1/complaints", with(c, "category", "Infra Struktur!"),
       kJson, 400, "category"},
      {"report type unknown", "POST", "/api/v1/complaints", with(c, "report_type", "keluhan"),
       kJson, 400, "report_type"},
      {"region unknown", "POST", "/api/v1/complaints", with(c, "region_code", "99.99"), kJson, 400,
       "region_code"},
      {"region an object", "POST", "/api/v1/complaints", with(c, "region_code", json::object()),
       kJson, 400, "region_code"},
      {"channel unknown", "POST", "/api/v1/complaints", with(c, "channel", "fax"), kJson, 400,
       "channel"},
      {"anonymous a string", "POST", "/api/v1/complaints", with(c, "anonymous", "yes"), kJson, 400,
       "anonymous"},
      {"latitude out of range", "POST", "/api/v1/complaints",
       with(c, "location", {{"lat", 91}, {"lon", 0}}), kJson, 400, "location.lat"},
      {"longitude a string", "POST", "/api/v1/complaints",
       with(c, "location", {{"lat", 1}, {"lon", "east"}}), kJson, 400, "location.lon"},
      {"NIK too short", "POST", "/api/v1/complaints", r.dump(), kJson, 400, "reporter.nik"},
      {"reporter an array", "POST", "/api/v1/complaints", with(c, "reporter", json::array()), kJson,
       400, "reporter"},
      {"unknown field", "POST", "/api/v1/complaints", with(c, "priority", "high"), kJson, 400,
       "priority"},
      {"attachment bad hash", "POST", "/api/v1/complaints",
       with(c, "attachments", {{{"sha256", "abc"}, {"media_type", "image/jpeg"}, {"size", 10}}}),
       kJson, 400, "attachments.sha256"},
      {"attachment negative size", "POST", "/api/v1/complaints",
       with(c, "attachments",
            {{{"sha256", std::string(64, 'a')}, {"media_type", "image/jpeg"}, {"size", -1}}}),
       kJson, 400, "attachments.size"},
      {"wrong content type",
       "POST",
       "/api/v1/complaints",
       c.dump(),
       {{"Content-Type", "text/plain"}},
       415,
       ""},
      {"no content type", "POST", "/api/v1/complaints", c.dump(), {}, 415, ""},
      {"oversized body", "POST", "/api/v1/complaints", big, kJson, 413, ""},
      {"unknown query parameter", "POST", "/api/v1/complaints?debug=1", c.dump(), kJson, 400,
       "debug"},
      {"unknown endpoint", "GET", "/api/v2/complaints", "", {}, 404, ""},
      {"unknown case", "GET", "/api/v1/complaints/32-ZZZZZZZZZZ", "", {}, 404, "tracking_id"},
      {"wrong method", "DELETE", "/api/v1/complaints", "", {}, 405, ""},
      // A chunked body declares no length: it is refused by size once read.
      {"oversized chunked body",
       "POST",
       "/api/v1/complaints",
       "11800\r\n" + big + "\r\n0\r\n\r\n",
       {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}},
       413,
       ""},
      {"unknown action", "POST", actions, "{\"action\":\"delete\"}", kJson, 400, "action"},
      {"unknown token",
       "POST",
       actions,
       "{\"action\":\"verify\",\"agency\":\"dinas-pu\"}",
       {{"Content-Type", "application/json"}, {"Authorization", "Bearer lpt_x"}},
       401,
       ""},
      {"action missing", "POST", actions, "{}", kJson, 400, "action"},
      {"action a number", "POST", actions, "{\"action\":7}", kJson, 400, "action"},
      {"bad auth scheme",
       "POST",
       actions,
       "{\"action\":\"verify\",\"agency\":\"dinas-pu\"}",
       {{"Content-Type", "application/json"}, {"Authorization", "Basic abc"}},
       401,
       ""},
      {"reply without credentials", "POST", actions, "{\"action\":\"reply\",\"note\":\"hi\"}",
       kJson, 401, ""},
      {"reply wrong status", "POST", actions,
       "{\"action\":\"reply\",\"note\":\"hi\",\"access_code\":\"" + code + "\"}", kJson, 409,
       "action"},
      {"list bad limit", "GET", "/api/v1/complaints?limit=0", "", {}, 400, "limit"},
      {"list bad status", "GET", "/api/v1/complaints?status=open", "", {}, 400, "status"},
      {"list bad overdue", "GET", "/api/v1/complaints?overdue=maybe", "", {}, 400, "overdue"},
      {"list bad cursor", "GET", "/api/v1/complaints?cursor=-5", "", {}, 400, "cursor"},
      {"events of unknown case", "GET", "/api/v1/complaints/nope/events", "", {}, 404, ""},
  };
  ASSERT_GE(table.size(), 30u);

  const auto before = node_->Get("/healthz").Json()["next_seq"];
  const auto before_view = node_->Get("/api/v1/complaints/" + id + "?access_code=" + code).Json();
  for (const auto& t : table) {
    auto resp = Http(node_->port(), t.method, t.path, t.body, t.headers);
    EXPECT_EQ(resp.status, t.status) << t.name << ": " << resp.body;
    auto j = resp.Json();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << t.name << ": " << resp.body;
    EXPECT_TRUE(j["error"]["code"].is_string()) << t.name;
    EXPECT_TRUE(j["error"]["message"].is_string()) << t.name;
    if (!t.field.empty()) {
      EXPECT_EQ(j["error"]["field"], t.field) << t.name << ": " << resp.body;
    }
  }
  // Nothing changed: no new event, the case is as it was, and the node still serves.
  EXPECT_EQ(node_->Get("/healthz").Json()["next_seq"], before);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "?access_code=" + code).Json(), before_view);
  EXPECT_EQ(node_->Post("/api/v1/complaints", Complaint()).status, 201);
  EXPECT_EQ(node_->Fsck().exit_code, 0);
}

}  // namespace
}  // namespace lapor::testing
