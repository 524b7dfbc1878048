// Integration tests against the real lapor-node binary: the lifecycle over HTTP, roles, views,
// signed events, restart, personal data erasure, and a table of malformed requests.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "harness/eventually.h"
#include "harness/node_process.h"
#include "harness/sample_files.h"
#include "lapor/v1/event.pb.h"

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
  // The loops start just after the node begins to serve.
  EXPECT_TRUE(Eventually("the node runs every named background thread", [&] {
    names.clear();
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      names.insert(name);
    }
    return std::all_of(want.begin(), want.end(), [&](const auto& n) { return names.count(n); });
  }));
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

  // Public view: the case's content, nothing of the reporter (not even the name), the history
  // without operator ids.
  auto pub = node_->Get("/api/v1/complaints/" + id).Json();
  EXPECT_FALSE(pub.contains("reporter")) << pub.dump();
  EXPECT_FALSE(pub["location"].contains("address"));
  EXPECT_EQ(pub["access"], "public");
  ASSERT_EQ(pub["history"].size(), 1u);
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

  // Operator ids: the admin sees them, the public and the reporter do not.
  EXPECT_FALSE(full["history"][1]["actor"].contains("operator_id"));
  EXPECT_EQ(full["history"][1]["actor"]["role"], "admin");
  auto admin_full = node_->Get("/api/v1/complaints/" + id, admin_).Json();
  EXPECT_TRUE(admin_full["history"][1]["actor"]["operator_id"].is_number());

  // Signed events (they name operators): not for the public or the reporter.
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "/events").status, 403);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "/events?access_code=" + code).status, 403);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "/events", other_liaison_).status, 403);
  // Signed events: each verifies against the node's key, seq increases, the chain links.
  auto ev = node_->Get("/api/v1/complaints/" + id + "/events", auditor_).Json();
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

// A confidential case's rating is content: the reporter, the admin and the case's liaison read
// it; the public and another agency's liaison see only that it was rated (the access policy's
// content decision, asked by the case view and the list alike).
TEST_F(NodeHttpTest, AConfidentialRatingReachesOnlyThoseWhoReadTheContent) {
  json complaint = Complaint();
  complaint["confidential"] = true;
  auto created = node_->Post("/api/v1/complaints", complaint);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["tracking_id"];
  const std::string code = created.Json()["access_code"];
  Act(id, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);
  Act(id, {{"action", "respond"}, {"note", "Sudah ditangani."}}, liaison_, 200);
  Act(id, {{"action", "complete"}}, liaison_, 200);
  Act(id, {{"action", "rate"}, {"rating", 2}, {"note", "Lambat."}, {"access_code", code}}, "", 200);
  auto view = [&](const std::string& token, const std::string& query = "") {
    return node_->Get("/api/v1/complaints/" + id + query, token).Json();
  };
  for (const json& reader : {view(admin_), view(liaison_), view("", "?access_code=" + code)}) {
    EXPECT_EQ(reader["rating"], 2) << reader.dump();
    EXPECT_EQ(reader["history"].back()["rating"], 2);
    EXPECT_EQ(reader["history"].back()["note"], "Lambat.");
  }
  for (const json& outsider : {view(""), view(other_liaison_), view(auditor_)}) {
    EXPECT_TRUE(outsider["rating"].is_null()) << outsider.dump();
    EXPECT_TRUE(outsider["rated_at"].is_string());
    EXPECT_FALSE(outsider["history"].back().contains("rating")) << outsider.dump();
    EXPECT_FALSE(outsider["history"].back().contains("note"));
  }
  auto listed = node_->Get("/api/v1/complaints?status=selesai", other_liaison_);
  EXPECT_EQ(listed.body.find("\"rating\":2"), std::string::npos) << listed.body;
}

// A photo goes up before its complaint: the node strips its metadata (GPS, camera, a comment),
// keeps it sealed at rest with the complaint, serves it only to who may read the case's content
// (recording an operator's read of a confidential case's file), and erases it with the
// reporter's data. Wrong types, sizes and names get a clear error.
TEST_F(NodeHttpTest, APhotoLosesItsMetadataIsSealedAtRestServedToContentReadersAndErased) {
  const int port = node_->port();
  auto upload = [&](const std::string& type, const std::string& bytes) {
    return Http(port, "POST", "/api/v1/attachments", bytes, {{"Content-Type", type}});
  };
  const std::string photo = testing::SampleJpegWithMetadata();
  auto up = upload("image/jpeg", photo);
  ASSERT_EQ(up.status, 201) << up.body;
  const std::string clean = testing::SampleJpeg();  // the image, minus what the camera added
  const std::string sha = crypto::HexEncode(crypto::Sha256(clean));
  EXPECT_EQ(up.Json()["sha256"], sha);
  EXPECT_EQ(up.Json()["size"], clean.size());
  EXPECT_EQ(up.Json()["metadata_removed"], true);

  // Refused with the reason: another type (415), a file that is not what it says, too large.
  EXPECT_EQ(upload("image/gif", "GIF89a").status, 415);
  auto lie = upload("image/png", photo);
  EXPECT_EQ(lie.status, 400);
  EXPECT_EQ(lie.Json()["error"]["field"], "file");
  EXPECT_EQ(upload("application/pdf", "%PDF-" + std::string(6 << 20, ' ')).status, 413);
  EXPECT_EQ(Http(port, "GET", "/api/v1/attachments").status, 405);

  // The complaint names the file by its upload id, which only the uploader learned.
  const std::string upload_id = up.Json()["upload"];
  EXPECT_EQ(upload_id.size(), 32u);
  json complaint = Complaint();
  complaint["confidential"] = true;
  complaint["attachments"] = json::array(
      {{{"upload", upload_id}, {"sha256", sha}, {"media_type", "image/jpeg"}, {"size", 1}}});
  auto wrong = node_->Post("/api/v1/complaints", complaint);
  EXPECT_EQ(wrong.status, 400);  // not the upload's size (and the upload waits for a retry)
  EXPECT_EQ(wrong.Json()["error"]["field"], "attachments.upload");
  complaint["attachments"][0]["size"] = clean.size();
  complaint["attachments"][0]["media_type"] = "image/png";
  EXPECT_EQ(node_->Post("/api/v1/complaints", complaint).status, 400);
  complaint["attachments"][0]["media_type"] = "image/jpeg";
  complaint["attachments"][0]["upload"] = std::string(32, '0');
  EXPECT_EQ(node_->Post("/api/v1/complaints", complaint).Json()["error"]["field"],
            "attachments.upload");
  complaint["attachments"][0]["upload"] = upload_id;
  // A filing the case service refuses puts its uploads back: the corrected one takes them.
  const json region = complaint["region_code"];
  complaint["region_code"] = "99.99";
  auto refused = node_->Post("/api/v1/complaints", complaint);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.Json()["error"]["field"], "region_code");
  complaint["region_code"] = region;
  auto created = node_->Post("/api/v1/complaints", complaint);
  ASSERT_EQ(created.status, 201) << created.body;
  // One filing takes an upload: naming it again is refused.
  EXPECT_EQ(node_->Post("/api/v1/complaints", complaint).status, 400);
  {
    // Knowing a file's hash gives nothing: a complaint naming it without the upload id is
    // recorded with the hash only, and says nothing of anyone's upload.
    json guess = Complaint();
    guess["attachments"] =
        json::array({{{"sha256", sha}, {"media_type", "image/jpeg"}, {"size", clean.size()}}});
    auto g = node_->Post("/api/v1/complaints", guess);
    ASSERT_EQ(g.status, 201) << g.body;
    const std::string gid = g.Json()["tracking_id"];
    EXPECT_EQ(node_->Get("/api/v1/complaints/" + gid, admin_).Json()["attachments"][0]["held"],
              false);
    EXPECT_EQ(node_->Get("/api/v1/complaints/" + gid + "/attachments/" + sha, admin_).status, 404);
  }
  const std::string id = created.Json()["tracking_id"];
  const std::string code = created.Json()["access_code"];
  Act(id, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);

  const std::string path = "/api/v1/complaints/" + id + "/attachments/" + sha;
  auto as_reporter = Http(port, "GET", path, "", {{"X-Access-Code", code}});
  ASSERT_EQ(as_reporter.status, 200) << as_reporter.body;
  EXPECT_EQ(as_reporter.body, clean);
  EXPECT_EQ(as_reporter.headers["content-type"], "image/jpeg");
  EXPECT_EQ(as_reporter.headers["content-disposition"].rfind("attachment;", 0), 0u);
  EXPECT_NE(as_reporter.headers["content-security-policy"].find("sandbox"), std::string::npos);
  EXPECT_EQ(node_->Get(path, liaison_).status, 200);
  auto view = node_->Get("/api/v1/complaints/" + id, admin_).Json();
  EXPECT_EQ(view["attachments"][0]["held"], true) << view.dump();
  // Who may not read the content gets no file.
  EXPECT_EQ(Http(port, "GET", path).status, 401);
  EXPECT_EQ(node_->Get(path, other_liaison_).status, 403);
  EXPECT_EQ(node_->Get(path, auditor_).status, 403);
  EXPECT_EQ(Http(port, "GET", path, "", {{"X-Access-Code", "WRONGWRONGWRONGWRONGWRONG2"}}).status,
            401);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "/attachments/" + std::string(64, 'a'), admin_)
                .status,
            404);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "/attachments/xyz", admin_).status, 400);
  // The liaison's read of the confidential case's file is on the case's access record.
  auto record = node_->Get("/api/v1/complaints/" + id + "/access-log", admin_).Json();
  bool liaison_read = false;
  for (const auto& r : record["items"]) liaison_read = liaison_read || r["role"] == "liaison";
  EXPECT_TRUE(liaison_read) << record.dump();

  // At rest the file is sealed: its bytes are nowhere in the database.
  {
    std::ifstream db(node_->data_dir() + "/lapor.db", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(clean.substr(clean.size() / 2, 48)), std::string::npos);
  }
  // Erasing the reporter's data erases the files the reporter sent.
  Act(id, {{"action", "erase"}}, admin_, 200);
  EXPECT_EQ(node_->Get(path, admin_).status, 404);
  // (The confidential case's content went with it: the list of attachments too.)
  const json erased = node_->Get("/api/v1/complaints/" + id, admin_).Json();
  EXPECT_TRUE(erased["attachments"].empty()) << erased.dump();
  // An anonymous public case: anyone reads its content, but its files only the reporter, the
  // admins and the case's liaison (a photo can tell who took it).
  {
    auto again = upload("image/jpeg", photo);
    ASSERT_EQ(again.status, 201);
    json anon = complaint;
    anon["confidential"] = false;
    anon["anonymous"] = true;
    anon["attachments"][0]["upload"] = again.Json()["upload"];
    auto a = node_->Post("/api/v1/complaints", anon);
    ASSERT_EQ(a.status, 201) << a.body;
    const std::string aid = a.Json()["tracking_id"];
    Act(aid, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);
    const std::string apath = "/api/v1/complaints/" + aid + "/attachments/" + sha;
    EXPECT_EQ(Http(port, "GET", apath).status, 401);
    EXPECT_EQ(node_->Get(apath, other_liaison_).status, 403);
    EXPECT_EQ(node_->Get(apath, auditor_).status, 403);
    EXPECT_EQ(node_->Get(apath, liaison_).status, 200);
    EXPECT_EQ(Http(port, "GET", apath, "", {{"X-Access-Code", a.Json()["access_code"]}}).status,
              200);
    EXPECT_EQ(node_->Get("/api/v1/complaints/" + aid).Json()["attachments"][0]["held"], false);
    Act(aid, {{"action", "erase"}}, admin_, 200);
  }
  // A public case keeps its content when the reporter's data is erased, but not the photo.
  auto third = upload("image/jpeg", photo);
  ASSERT_EQ(third.status, 201);
  complaint["attachments"][0]["upload"] = third.Json()["upload"];
  complaint["confidential"] = false;
  auto open_case = node_->Post("/api/v1/complaints", complaint);
  ASSERT_EQ(open_case.status, 201) << open_case.body;
  const std::string oid = open_case.Json()["tracking_id"];
  const std::string opath = "/api/v1/complaints/" + oid + "/attachments/" + sha;
  EXPECT_EQ(Http(port, "GET", opath).status, 200);  // public content: anyone
  Act(oid, {{"action", "erase"}}, admin_, 200);
  EXPECT_EQ(Http(port, "GET", opath).status, 404);
  const json open_erased = node_->Get("/api/v1/complaints/" + oid).Json();
  EXPECT_EQ(open_erased["attachments"][0]["sha256"], sha) << open_erased.dump();
  EXPECT_EQ(open_erased["attachments"][0]["held"], false);
  auto rows = RunCommand({"/usr/bin/sqlite3", node_->data_dir() + "/lapor.db",
                          "SELECT count(*) FROM sealed WHERE kind LIKE 'attachment:%'"});
  EXPECT_EQ(rows.output, "0\n") << rows.output;
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

  // The workbench's queue: nearest deadline first over every page (2 and 4 are due 3 working
  // days after filing, 0 five after its verification), cases without a deadline last.
  std::vector<std::string> by_deadline;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto r = node_->Get(
        "/api/v1/complaints?sort=deadline&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
        auditor_);
    ASSERT_EQ(r.status, 200) << r.body;
    const json body = r.Json();
    for (const auto& item : body["items"]) by_deadline.push_back(item["tracking_id"]);
    if (body["next_cursor"].is_null()) break;
    cursor = body["next_cursor"];
  }
  EXPECT_EQ(by_deadline, (std::vector<std::string>{ids[2], ids[4], ids[0], ids[1], ids[3]}));
  EXPECT_EQ(node_->Get("/api/v1/complaints?sort=due", auditor_).status, 400);
  // A cursor of one order is refused by the other, with the field named.
  auto mixed = node_->Get(
      "/api/v1/complaints?sort=deadline&cursor=" + all["next_cursor"].get<std::string>(), auditor_);
  EXPECT_EQ(mixed.status, 400);
  EXPECT_EQ(mixed.Json()["error"]["field"], "cursor");
  EXPECT_EQ(node_->Get("/api/v1/complaints?cursor=" + cursor, auditor_).status, 400);

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
  // The public learns that it exists, its status and dates; nothing of its content.
  auto conf_pub = node_->Get("/api/v1/complaints/" + cid);
  ASSERT_EQ(conf_pub.status, 200);
  EXPECT_EQ(conf_pub.Json()["status"], "belum_terverifikasi");
  for (const char* field : {"title", "category", "report_type", "region_code", "agency"}) {
    EXPECT_TRUE(conf_pub.Json()[field].is_null()) << field;
  }
  EXPECT_EQ(conf_pub.body.find("pungutan"), std::string::npos);
  EXPECT_EQ(conf_pub.body.find("whistleblowing"), std::string::npos);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid + "/events").status, 403);
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

  // Erasure (an admin's, through the API while the node runs) is a signed event: the reporter's
  // record and the confidential content and notes go, every signature stays and fsck is clean.
  Act(cid, {{"action", "erase"}, {"erase", {"everything"}}}, admin_, 400);
  Act(cid, {{"action", "erase"}}, liaison_, 403);
  const json erased = Act(cid, {{"action", "erase"}}, admin_, 200);
  auto after = node_->Get("/api/v1/complaints/" + cid, admin_).Json();
  EXPECT_EQ(after["reporter"], json({{"erased", true}}));
  EXPECT_EQ(after["description"], "");
  EXPECT_EQ(after["history"].back()["type"], "erased");
  EXPECT_EQ(after["history"][2].value("note", ""), "") << after["history"][2].dump();
  ASSERT_EQ(after["erasures"].size(), 1u) << after.dump();
  EXPECT_EQ(after["erasures"][0]["erased"], json({"reporter", "content"}));
  EXPECT_EQ(after["erasures"][0]["parties"], json::array());  // nobody else holds it
  // The erasure record is for who may see the identity: not the auditor, another agency's
  // liaison, the public.
  for (const std::string& token : {auditor_, other_liaison_, std::string()}) {
    const json other = node_->Get("/api/v1/complaints/" + cid, token).Json();
    EXPECT_FALSE(other.contains("erasures")) << other.dump();
    EXPECT_FALSE(other.contains("reporter")) << other.dump();
  }
  Act(cid, {{"action", "erase"}}, admin_, 409);  // nothing is left
  // The console's `pii erase` signs too, so it waits for the node to stop.
  auto busy = node_->Cli({"pii", "erase", cid, "--data-dir", node_->data_dir()});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.output.find("/actions"), std::string::npos) << busy.output;
  {
    const std::string db = node_->data_dir() + "/lapor.db";
    // Erased rows are gone, not emptied: only the anonymous case's reporter record is left.
    auto rows = RunCommand(
        {"/usr/bin/sqlite3", db, "SELECT kind, count(*) FROM sealed GROUP BY kind ORDER BY kind"});
    EXPECT_EQ(rows.output, "reporter|1\n") << rows.output;
  }
  auto fsck = node_->Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
  // With the node stopped the console signs the erasure itself, as the node's system actor.
  node_->Stop();
  const std::string aid = a["tracking_id"];
  auto offline = node_->Cli({"pii", "erase", aid, "--data-dir", node_->data_dir()});
  EXPECT_EQ(offline.exit_code, 0) << offline.output;
  EXPECT_NE(offline.output.find("signed as an erasure"), std::string::npos) << offline.output;
  EXPECT_NE(offline.output.find("write-ahead log was emptied"), std::string::npos)
      << offline.output;
  node_->Start();
  auto anon_after = node_->Get("/api/v1/complaints/" + aid, admin_).Json();
  EXPECT_EQ(anon_after["reporter"], json({{"erased", true}}));
  EXPECT_EQ(anon_after["history"].back()["type"], "erased");
  EXPECT_EQ(node_->Fsck().exit_code, 0);

  // Personal data never reaches the log.
  node_->Stop();
  std::ifstream log(node_->data_dir() + "/node.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  for (const char* pii : {"Siti", "3204123456789012", "6281234567890", "siti@example"}) {
    EXPECT_EQ(text.find(pii), std::string::npos) << pii;
  }
}

// The who-sees-what table (node/access_policy.h, README) through the real binary, for a public
// case with a named reporter and an anonymous confidential whistle-blowing case, both dispositioned
// to dinas-pu; and the access record of every read of personal data.
TEST_F(NodeHttpTest, EachCallerSeesExactlyWhatTheTableAllows) {
  auto named = node_->Post("/api/v1/complaints", Complaint()).Json();
  const std::string pid = named["tracking_id"];
  json wb = Complaint("Pungutan liar oleh kepala seksi");
  wb["confidential"] = true;
  wb["anonymous"] = true;
  wb["report_type"] = "whistleblowing";
  wb["target_agency"] = "dinas-pu";
  auto secret = node_->Post("/api/v1/complaints", wb).Json();
  const std::string cid = secret["tracking_id"];
  const std::string code = secret["access_code"];
  Act(pid, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);
  // The reply to an action on a confidential case carries no content: it would be an unrecorded
  // read (the view, which records it, shows it).
  const json verified = Act(cid, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_, 200);
  EXPECT_EQ(verified["status"], "terdisposisi");
  EXPECT_TRUE(verified["agency"].is_null()) << verified.dump();
  EXPECT_TRUE(verified["category"].is_null()) << verified.dump();
  Act(cid, {{"action", "respond"}, {"note", "Inspektorat memeriksa kepala seksi."}}, liaison_, 200);

  struct Seen {
    bool content, identity, operator_ids;
  };
  auto look = [&](const std::string& id, const std::string& token,
                  const std::string& access_code = "") {
    std::map<std::string, std::string> h;
    if (!token.empty()) h["Authorization"] = "Bearer " + token;
    if (!access_code.empty()) h["X-Access-Code"] = access_code;
    auto r = Http(node_->port(), "GET", "/api/v1/complaints/" + id, "", h);
    EXPECT_EQ(r.status, 200) << r.body;
    auto j = r.Json();
    bool ops = false;
    for (const auto& item : j["history"]) ops = ops || item["actor"].contains("operator_id");
    const bool content = j["title"].is_string() && j["category"].is_string();
    // Content or not, never half of it.
    EXPECT_EQ(content, r.body.find("dinas-pu") != std::string::npos) << r.body;
    const bool identity = j.contains("reporter");
    EXPECT_EQ(identity, r.body.find("3204123456789012") != std::string::npos) << r.body;
    return Seen{content, identity, ops};
  };
  auto expect = [&](const std::string& who, Seen got, Seen want) {
    EXPECT_EQ(got.content, want.content) << who;
    EXPECT_EQ(got.identity, want.identity) << who;
    EXPECT_EQ(got.operator_ids, want.operator_ids) << who;
  };
  // The public case with a named reporter.
  expect("public", look(pid, ""), {true, false, false});
  expect("reporter", look(pid, "", named["access_code"]), {true, true, false});
  expect("admin", look(pid, admin_), {true, true, true});
  expect("case liaison", look(pid, liaison_), {true, true, true});
  expect("other liaison", look(pid, other_liaison_), {true, false, false});
  expect("auditor", look(pid, auditor_), {true, false, true});
  // The anonymous confidential case.
  expect("public", look(cid, ""), {false, false, false});
  expect("reporter", look(cid, "", code), {true, true, false});
  expect("admin", look(cid, admin_), {true, true, true});
  expect("case liaison", look(cid, liaison_), {true, false, true});
  expect("other liaison", look(cid, other_liaison_), {false, false, false});
  expect("auditor", look(cid, auditor_), {false, false, true});
  // Node ids are region codes: nothing of them for who may not see the confidential content.
  const json conf_public = node_->Get("/api/v1/complaints/" + cid).Json();
  for (const char* field : {"origin_node", "owner_node", "parties", "escalation_level"}) {
    EXPECT_TRUE(conf_public[field].is_null()) << field << " in " << conf_public.dump();
  }
  for (const auto& h : conf_public["history"]) EXPECT_TRUE(h["node_id"].is_null());
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + pid).Json()["owner_node"], "32");
  // The case liaison reads the confidential response; the others do not.
  auto liaison_view = node_->Get("/api/v1/complaints/" + cid, liaison_);
  EXPECT_NE(liaison_view.body.find("Inspektorat"), std::string::npos);
  for (const std::string& t : {std::string(), other_liaison_, auditor_}) {
    EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid, t).body.find("Inspektorat"),
              std::string::npos);
  }
  // A list filtered on content never returns the confidential case to who may not read it.
  const json by_agency = node_->Get("/api/v1/complaints?agency=dinas-pu", auditor_).Json();
  ASSERT_EQ(by_agency["items"].size(), 1u);  // the public case only
  EXPECT_EQ(by_agency["items"][0]["tracking_id"], pid);
  auto listed = node_->Get("/api/v1/complaints", auditor_);
  EXPECT_EQ(listed.body.find("whistleblowing"), std::string::npos);
  EXPECT_NE(node_->Get("/api/v1/complaints", admin_).body.find("whistleblowing"),
            std::string::npos);
  // Paging a content filter past the hidden case: full pages, a cursor that does not stop there.
  const json first =
      node_->Get("/api/v1/complaints?category=infrastruktur&limit=1", auditor_).Json();
  ASSERT_EQ(first["items"].size(), 1u) << first.dump();
  EXPECT_EQ(first["items"][0]["tracking_id"], pid);
  // The named case is the node's first (key 0): nothing comes before it, so no cursor.
  EXPECT_TRUE(first["next_cursor"].is_null()) << first.dump();
  // Signed events of the confidential case: the admin, case liaison and auditor (who checks the
  // chains); never the other liaison, the public or the reporter. They carry the case's content
  // sealed (the same bytes as the public log), so reading them is no read of its content.
  for (const std::string& t : {admin_, liaison_, auditor_}) {
    auto events = node_->Get("/api/v1/complaints/" + cid + "/events", t);
    ASSERT_EQ(events.status, 200) << events.body;
    std::string envelopes;
    const json listed_events = events.Json();  // kept alive: the loop reads into it
    for (const auto& e : listed_events["events"]) {
      envelopes += *crypto::Base64Decode(e["envelope"].get<std::string>());
    }
    for (const char* content : {"Pungutan", "dinas-pu", "whistleblowing", "infrastruktur", "32.04",
                                "Inspektorat", "Jl. Merdeka"}) {
      EXPECT_EQ(envelopes.find(content), std::string::npos) << content;
    }
  }
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid + "/events", other_liaison_).status, 403);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid + "/events").status, 403);

  // The access record: every operator read of identity or confidential content (views and the
  // admin's list), none by the reporter or by who saw nothing.
  auto record = node_->Get("/api/v1/complaints/" + cid + "/access-log", auditor_);
  ASSERT_EQ(record.status, 200) << record.body;
  std::vector<std::string> rows;
  const json record_json = record.Json();
  for (const auto& r : record_json["items"]) {
    rows.push_back(r["role"].get<std::string>() + ":" + r["fields"].dump());
  }
  EXPECT_EQ(rows, (std::vector<std::string>{R"(admin:["confidential_content","reporter_identity"])",
                                            R"(liaison:["confidential_content"])",
                                            R"(liaison:["confidential_content"])",
                                            R"(admin:["confidential_content"])"}))
      << record.body;
  EXPECT_EQ(record.body.find("3204123456789012"), std::string::npos);  // the record, not the data
  // The reporter reads their own case's record with the access code (header), not another's.
  auto mine = Http(node_->port(), "GET", "/api/v1/complaints/" + cid + "/access-log", "",
                   {{"X-Access-Code", code}});
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.Json()["items"].size(), rows.size());
  EXPECT_EQ(mine.body.find("operator_id"), std::string::npos) << mine.body;  // roles only
  EXPECT_NE(record.body.find("operator_id"), std::string::npos);
  EXPECT_EQ(Http(node_->port(), "GET", "/api/v1/complaints/" + pid + "/access-log", "",
                 {{"X-Access-Code", code}})
                .status,
            401);
  // Out of scope for a case's record: liaisons (even the case's own), and the public.
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid + "/access-log", liaison_).status, 403);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid + "/access-log", other_liaison_).status, 403);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + cid + "/access-log").status, 401);
  EXPECT_EQ(node_->Get("/api/v1/access-log", liaison_).status, 403);
  EXPECT_EQ(node_->Get("/api/v1/access-log").status, 401);
  auto all = node_->Get("/api/v1/access-log?limit=2", admin_).Json();
  ASSERT_EQ(all["items"].size(), 2u);
  EXPECT_TRUE(all["next_after"].is_string());

  // fsck replays the confidential case's sealed events and agrees with the state the node keeps.
  node_->Stop();
  auto fsck = node_->Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
}

// A content-filtered list continues past a confidential case it leaves out: two public cases
// filed before it fill a page of two, each once (the continuation once restarted from the top,
// listing the same case twice).
TEST_F(NodeHttpTest, ContentFilteredListContinuesPastHiddenCasesWithoutRepeats) {
  const std::string older =
      node_->Post("/api/v1/complaints", Complaint("Satu")).Json()["tracking_id"];
  const std::string newer =
      node_->Post("/api/v1/complaints", Complaint("Dua")).Json()["tracking_id"];
  json secret = Complaint("Rahasia");
  secret["confidential"] = true;
  ASSERT_EQ(node_->Post("/api/v1/complaints", secret).status, 201);
  const json page =
      node_->Get("/api/v1/complaints?category=infrastruktur&limit=2", auditor_).Json();
  ASSERT_EQ(page["items"].size(), 2u) << page.dump();
  EXPECT_EQ(page["items"][0]["tracking_id"], newer);
  EXPECT_EQ(page["items"][1]["tracking_id"], older);
}

// Operators are listed, removed and rotated with the CLI while the node runs; a removed or
// rotated token is refused at once, and every change is recorded.
TEST_F(NodeHttpTest, OperatorsAreRemovedAndRotatedWithoutARestart) {
  const std::string dir = node_->data_dir();
  EXPECT_EQ(node_->Get("/api/v1/complaints", auditor_).status, 200);
  auto list = node_->Cli({"operator", "list", "--data-dir", dir});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("dinas-kesehatan"), std::string::npos) << list.output;
  EXPECT_EQ(list.output.find("lpt_"), std::string::npos);  // no token is ever shown again
  // Operator ids: admin 1, liaison 2, other liaison 3, auditor 4 (SetUp's order).
  auto removed = node_->Cli({"operator", "remove", "--id", "4", "--data-dir", dir});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  EXPECT_EQ(node_->Get("/api/v1/complaints", auditor_).status, 401);
  auto rotated = node_->Cli({"operator", "rotate", "--id", "1", "--data-dir", dir});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  const auto at = rotated.output.find("lpt_");
  ASSERT_NE(at, std::string::npos) << rotated.output;
  const std::string fresh = rotated.output.substr(at, rotated.output.find('\n', at) - at);
  EXPECT_EQ(node_->Get("/api/v1/complaints", admin_).status, 401);
  EXPECT_EQ(node_->Get("/api/v1/complaints", fresh).status, 200);
  EXPECT_EQ(node_->Cli({"operator", "remove", "--id", "4", "--data-dir", dir}).exit_code, 1);
  EXPECT_EQ(node_->Cli({"operator", "remove", "--id", "99", "--data-dir", dir}).exit_code, 1);
  list = node_->Cli({"operator", "list", "--data-dir", dir});
  EXPECT_NE(list.output.find("removed"), std::string::npos) << list.output;
  // The CLI refuses an agency the API would refuse (it could never act).
  auto bad = node_->Cli({"operator", "add", "--name", "X", "--role", "liaison", "--agency",
                         "Dinas PUPR", "--data-dir", dir});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--agency"), std::string::npos) << bad.output;
  // An expiring token works until it expires.
  auto expiring = node_->Cli({"operator", "add", "--name", "Tamu", "--role", "auditor",
                              "--expires-in-days", "1", "--data-dir", dir});
  ASSERT_EQ(expiring.exit_code, 0) << expiring.output;
  list = node_->Cli({"operator", "list", "--data-dir", dir});
  EXPECT_NE(list.output.find("expires in 0 days"), std::string::npos) << list.output;
}

// The workbench's browser session: signing in with the token gives an HttpOnly, SameSite=Strict
// cookie and a CSRF token; the cookie stands for the token on every endpoint, a change needs the
// CSRF token too, a rotated operator's session ends at its next request, and signing out ends it.
TEST_F(NodeHttpTest, ABrowserSessionActsAsItsOperatorAndAChangeNeedsItsCsrfToken) {
  const int port = node_->port();
  const std::map<std::string, std::string> json_type = {{"Content-Type", "application/json"}};
  auto sign_in = [&](const std::string& token) {
    return Http(port, "POST", "/api/v1/session", json{{"token", token}}.dump(), json_type);
  };
  EXPECT_EQ(sign_in("lpt_NOTATOKEN").status, 401);
  EXPECT_EQ(Http(port, "POST", "/api/v1/session", R"({"token": 5})", json_type).status, 400);
  EXPECT_EQ(
      Http(port, "POST", "/api/v1/session", R"({"token": "x", "role": "admin"})", json_type).status,
      400);

  auto in = sign_in(admin_);
  ASSERT_EQ(in.status, 200) << in.body;
  const std::string set_cookie = in.headers["set-cookie"];
  for (const char* attribute : {"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"}) {
    EXPECT_NE(set_cookie.find(attribute), std::string::npos) << attribute << ": " << set_cookie;
  }
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "plain HTTP: " << set_cookie;
  ASSERT_EQ(set_cookie.rfind("lapor_session=", 0), 0u) << set_cookie;
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = in.Json()["csrf_token"];
  EXPECT_EQ(csrf.size(), 64u);
  EXPECT_EQ(in.Json()["operator"]["role"], "admin");
  EXPECT_EQ(in.body.find(admin_), std::string::npos);  // the token is not echoed

  // The cookie stands for the token: an admin's list, the session itself.
  EXPECT_EQ(Http(port, "GET", "/api/v1/complaints", "", {{"Cookie", cookie}}).status, 200);
  auto current = Http(port, "GET", "/api/v1/session", "", {{"Cookie", "a=b; " + cookie}});
  ASSERT_EQ(current.status, 200) << current.body;
  EXPECT_EQ(current.Json()["csrf_token"], csrf);

  // A change needs the CSRF token as well: without it (or with another) 403, and nothing moves.
  auto created = node_->Post("/api/v1/complaints", Complaint());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["tracking_id"];
  const std::string verify = json{{"action", "verify"}, {"agency", "dinas-pu"}}.dump();
  std::map<std::string, std::string> h = json_type;
  h["Cookie"] = cookie;
  EXPECT_EQ(Http(port, "POST", "/api/v1/complaints/" + id + "/actions", verify, h).status, 403);
  h["X-CSRF-Token"] = std::string(64, '0');
  EXPECT_EQ(Http(port, "POST", "/api/v1/complaints/" + id + "/actions", verify, h).status, 403);
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id).Json()["status"], "belum_terverifikasi");
  h["X-CSRF-Token"] = csrf;
  auto acted = Http(port, "POST", "/api/v1/complaints/" + id + "/actions", verify, h);
  ASSERT_EQ(acted.status, 200) << acted.body;
  EXPECT_EQ(acted.Json()["status"], "terdisposisi");

  // An unknown or ended session is 401 (not a public view).
  EXPECT_EQ(Http(port, "GET", "/api/v1/complaints", "",
                 {{"Cookie", "lapor_session=" + std::string(64, 'a')}})
                .status,
            401);

  // A liaison's session, then its operator rotated: the session ends at its next request.
  auto liaison_in = sign_in(liaison_);
  ASSERT_EQ(liaison_in.status, 200);
  EXPECT_EQ(liaison_in.Json()["operator"]["agency"], "dinas-pu");
  const std::string liaison_cookie =
      liaison_in.headers["set-cookie"].substr(0, liaison_in.headers["set-cookie"].find(';'));
  EXPECT_EQ(Http(port, "GET", "/api/v1/session", "", {{"Cookie", liaison_cookie}}).status, 200);
  ASSERT_EQ(
      node_->Cli({"operator", "rotate", "--id", "2", "--data-dir", node_->data_dir()}).exit_code,
      0);
  auto ended = Http(port, "GET", "/api/v1/session", "", {{"Cookie", liaison_cookie}});
  EXPECT_EQ(ended.status, 401);
  // The page learns its session is over, and the browser drops the cookie.
  EXPECT_EQ(ended.headers["set-cookie"].rfind("lapor_session=;", 0), 0u)
      << ended.headers["set-cookie"];
  EXPECT_NE(ended.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Http(port, "GET", "/api/v1/complaints", "", {{"Cookie", liaison_cookie}}).status, 401);

  // Signing out needs the CSRF token, ends the session and clears the cookie.
  EXPECT_EQ(Http(port, "DELETE", "/api/v1/session", "", {{"Cookie", cookie}}).status, 403);
  auto out =
      Http(port, "DELETE", "/api/v1/session", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_EQ(out.status, 204) << out.body;
  EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Http(port, "GET", "/api/v1/complaints", "", {{"Cookie", cookie}}).status, 401);
}

// init creates missing parent folders (a fresh clone has no var/), makes the data folder 0700
// even when it existed, and writes every file readable by the node's user only.
TEST(NodeInitTest, CreatesParentsAndKeepsEverythingPrivate) {
  const std::string root = MakeTempDir("lapor-init");
  const std::string dir = root + "/var/lib/lapor/node-32";
  auto r = RunCommand({NodeProcess::Binary(), "init", "--data-dir", dir, "--jurisdiction", "32"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* f : {"node.json", "node.key", "sealing.key", "holidays.txt", "lapor.db"}) {
    ASSERT_EQ(::stat((dir + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 077, 0u) << f << " is readable by others";
  }
  const std::string existing = root + "/existing";
  ASSERT_EQ(::mkdir(existing.c_str(), 0755), 0);
  r = RunCommand(
      {NodeProcess::Binary(), "init", "--data-dir", existing, "--jurisdiction", "32.04"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(::stat(existing.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // A file where the folder should be is a clear error, not a crash.
  const std::string file = root + "/a-file";
  { std::ofstream(file) << "x"; }
  r = RunCommand(
      {NodeProcess::Binary(), "init", "--data-dir", file + "/node", "--jurisdiction", "32"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot create"), std::string::npos) << r.output;
}

// A second `run` on a data folder in use is refused at once, naming the running one; the first
// keeps serving.
TEST_F(NodeHttpTest, ASecondProcessOnTheSameFolderIsRefused) {
  auto second = node_->Cli({"run", "--data-dir", node_->data_dir(), "--listen", "127.0.0.1:1"});
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find("another lapor-node (pid " + std::to_string(node_->pid())),
            std::string::npos)
      << second.output;
  auto health = node_->Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json()["status"], "ok");
  EXPECT_EQ(node_->Post("/api/v1/complaints", Complaint()).status, 201);
  // Once it stops, the folder is free again (the lock dies with the process, kill -9 included).
  node_->Kill9();
  node_->Start();
  EXPECT_EQ(node_->Get("/healthz").status, 200);
}

// --log-format json (here through LAPOR_LOG_FORMAT): every line the node logs is one JSON object
// with time, level, subsystem and message, and no personal data; an unknown format is refused.
TEST(NodeLogFormatTest, JsonLinesWithoutPersonalData) {
  NodeProcess node(MakeTempDir("lapor-jsonlog") + "/node");
  node.Init("32");
  ::setenv("LAPOR_LOG_FORMAT", "json", 1);
  node.Start();
  ::unsetenv("LAPOR_LOG_FORMAT");
  ASSERT_EQ(node.Post("/api/v1/complaints", Complaint()).status, 201);
  ASSERT_EQ(node.Stop(), 0);
  std::ifstream log(node.data_dir() + "/node.log");
  std::string line;
  int lines = 0;
  bool stopped = false;
  while (std::getline(log, line)) {
    ++lines;
    auto j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    for (const char* key : {"time", "level", "subsystem", "message"}) {
      EXPECT_TRUE(j[key].is_string()) << key << " in " << line;
    }
    stopped = stopped || j["message"] == "stopped cleanly";
    for (const char* pii : {"Siti", "3204123456789012", "6281234567890", "siti@example"}) {
      EXPECT_EQ(line.find(pii), std::string::npos) << pii;
    }
  }
  EXPECT_GE(lines, 2);
  EXPECT_TRUE(stopped);
  auto bad = node.Cli({"run", "--data-dir", node.data_dir(), "--log-format", "xml"});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--log-format"), std::string::npos) << bad.output;
}

// --version and vkey work without a running node.
TEST_F(NodeHttpTest, VersionAndVkeyFromTheCommandLine) {
  auto version = node_->Cli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.output.find("lapor-node 0."), std::string::npos) << version.output;
  auto vkey = node_->Cli({"vkey", "--data-dir", node_->data_dir()});
  ASSERT_EQ(vkey.exit_code, 0) << vkey.output;
  auto served = node_->Get("/log/vkey");
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(vkey.output, served.body);
  EXPECT_NE(node_->Cli({"operator", "nonsense", "--data-dir", node_->data_dir()}).exit_code, 0);
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
      // Found by fuzz/api_json_fuzz.cc: the error named an empty field.
      {"empty field name", "POST", "/api/v1/complaints", with(c, "", "x"), kJson, 400, "body"},
      {"empty field name in reporter", "POST", "/api/v1/complaints",
       with(c, "reporter", {{"", "x"}}), kJson, 400, "reporter"},
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

// Retention: the personal data of a closed or archived case this node owns is erased (a signed
// erasure by the node itself) once its last event is retention_days old; operators are warned
// retention_warn_days before (log and lapor_retention_due_soon); open cases keep theirs.
TEST_F(NodeHttpTest, RetentionErasesClosedCasesAfterTheirPeriodAndWarnsBefore) {
  auto metric = [&](const std::string& series) {
    const std::string body = node_->Get("/metrics", admin_).body;
    const std::string line = "\n" + series + " ";
    size_t at = body.find(line);
    return at == std::string::npos ? -1.0 : std::stod(body.substr(at + line.size()));
  };
  ASSERT_EQ(node_->Stop(), 0);
  node_->SetConfig("retention_days", 1);
  node_->SetConfig("retention_warn_days", 2);
  node_->SetConfig("retention_interval_ms", 100);
  node_->Start();
  const std::string open_id = node_->Post("/api/v1/complaints", Complaint()).Json()["tracking_id"];
  json conf = Complaint("Rahasia: pungutan liar");
  conf["confidential"] = true;
  const std::string closed_id = node_->Post("/api/v1/complaints", conf).Json()["tracking_id"];
  Act(closed_id, {{"action", "archive"}, {"reason", "not_actionable"}}, admin_, 200);
  // Within the warning period: counted and said, nothing erased yet.
  EXPECT_TRUE(
      Eventually("one case is due soon", [&] { return metric("lapor_retention_due_soon") == 1; }));
  EXPECT_TRUE(
      node_->Get("/api/v1/complaints/" + closed_id, admin_).Json()["reporter"].contains("name"));
  ASSERT_EQ(node_->Stop(), 0);
  {
    std::ifstream in(node_->data_dir() + "/node.log");
    std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(log.find("retention: the personal data of 1 closed case(s) will be erased"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("Siti"), std::string::npos);
  }
  // A period of 86 ms: the archived case's data goes, the open case's stays.
  node_->SetConfig("retention_days", 0.000001);  // 86 ms
  node_->Start();
  EXPECT_TRUE(Eventually("the archived case's personal data is erased", [&] {
    return node_->Get("/api/v1/complaints/" + closed_id, admin_).Json()["reporter"] ==
           json({{"erased", true}});
  }));
  const json closed = node_->Get("/api/v1/complaints/" + closed_id, admin_).Json();
  EXPECT_EQ(closed["status"], "arsip");
  EXPECT_EQ(closed["description"], "");
  EXPECT_EQ(closed["history"].back()["type"], "erased");
  EXPECT_EQ(closed["history"].back()["actor"], json({{"kind", "system"}}));
  EXPECT_EQ(closed["erasures"][0]["erased"], json({"reporter", "content"}));
  EXPECT_EQ(metric(R"(lapor_erasures_total{by="retention"})"), 1);
  EXPECT_EQ(metric("lapor_retention_due_soon"), 0);
  EXPECT_TRUE(
      node_->Get("/api/v1/complaints/" + open_id, admin_).Json()["reporter"].contains("name"));
  EXPECT_EQ(node_->Fsck().exit_code, 0);
}

// GET /metrics: the Prometheus text format (promtool accepts it), for operators only. Requests,
// authentication failures, commits and the log's state are counted; no tracking id, access code
// or reporter data appears in it.
TEST_F(NodeHttpTest, MetricsAreForOperatorsAndCarryNothingPersonal) {
  EXPECT_EQ(node_->Get("/metrics").status, 401);
  auto created = node_->Post("/api/v1/complaints", Complaint());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.Json()["tracking_id"];
  const std::string code = created.Json()["access_code"];
  EXPECT_EQ(node_->Get("/api/v1/complaints/" + id + "?access_code=WRONGCODE1").status, 401);
  EXPECT_EQ(node_->Get("/no/such/" + id).status, 404);

  HttpResponse m;
  auto value = [&](const std::string& series) {
    const std::string line = "\n" + series + " ";
    size_t at = m.body.find(line);
    if (at == std::string::npos) return -1.0;
    return std::stod(m.body.substr(at + line.size()));
  };
  ASSERT_TRUE(Eventually("the log's checkpoint covers the complaint", [&] {
    m = node_->Get("/metrics", auditor_);
    return m.status == 200 && value("lapor_log_checkpoint_size") == 1;
  }));
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(value(R"(lapor_http_requests_total{code="201",route="/api/v1/complaints"})"), 1);
  EXPECT_EQ(value(R"(lapor_http_requests_total{code="401",route="/api/v1/complaints/{id}"})"), 1);
  EXPECT_EQ(value(R"(lapor_auth_failures_total{route="/api/v1/complaints/{id}"})"), 1);
  EXPECT_EQ(value(R"(lapor_auth_failures_total{route="/metrics"})"), 1);
  EXPECT_EQ(value(R"(lapor_http_requests_total{code="404",route="other"})"), 1);
  EXPECT_EQ(value(R"(lapor_http_request_duration_seconds_count{route="/api/v1/complaints"})"), 1);
  EXPECT_EQ(value(R"(lapor_events_appended_total{author="own"})"), 1);
  EXPECT_GE(value(R"(lapor_commits_total{result="ok"})"), 1);
  EXPECT_GE(value("lapor_commit_duration_seconds_count"), 1);
  EXPECT_EQ(value("lapor_log_next_seq"), 1);
  EXPECT_EQ(value("lapor_store_state"), 0);
  EXPECT_EQ(value("lapor_log_behind"), 0);
  EXPECT_EQ(value("lapor_witness_cosignature_age_seconds"), -1);
  EXPECT_EQ(value("lapor_manifest_version"), 0);  // a lone node
  for (const std::string& personal :
       {id, code, std::string("Siti"), std::string("3204123456789"), std::string("6281234567890"),
        std::string("siti@"), std::string("Merdeka"), std::string("WRONGCODE1")}) {
    EXPECT_EQ(m.body.find(personal), std::string::npos) << personal;
  }

  const std::string file = node_->data_dir() + "/../metrics.txt";
  {
    std::ofstream out(file);
    out << m.body;
  }
  auto checked =
      RunCommand({"/bin/sh", "-c", std::string(LAPOR_PROMTOOL) + " check metrics < " + file});
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
}

// Every reply carries X-Request-Id (the client's, if it is a plain token, else a new one), and the
// node's log lines written while handling a request name it, with the subsystem.
TEST_F(NodeHttpTest, RequestIdsComeBackAndMarkTheLogLines) {
  auto own = node_->Post("/federation/v1/events", json::object(), "");
  const std::string generated = own.headers["x-request-id"];
  EXPECT_EQ(generated.size(), 16u) << generated;
  EXPECT_NE(node_->Get("/healthz").headers["x-request-id"], generated);
  auto traced =
      Http(node_->port(), "POST", "/federation/v1/events", "{}",
           {{"Content-Type", "application/x-protobuf"}, {"X-Request-Id", "trace-42.a_b"}});
  EXPECT_EQ(traced.headers["x-request-id"], "trace-42.a_b");
  auto odd = Http(node_->port(), "GET", "/healthz", "", {{"X-Request-Id", "no spaces; or {json}"}});
  EXPECT_EQ(odd.headers["x-request-id"].size(), 16u) << odd.headers["x-request-id"];
  std::string log;
  ASSERT_TRUE(Eventually("the refusal is logged with its request id", [&] {
    std::ifstream in(node_->data_dir() + "/node.log");
    std::stringstream ss;
    ss << in.rdbuf();
    log = ss.str();
    return log.find("[http req=trace-42.a_b] federation request /federation/v1/events") !=
           std::string::npos;
  })) << log;
}

}  // namespace
}  // namespace lapor::testing
