// Search (GET /api/v1/search) against the real lapor-node binary: words found inside longer
// words, the list's filters, paging, the CSV export, who finds what (node/access_policy.h), an
// erasure, bad input; and on the hub, a case another member opened.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/node_process.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

json Complaint(const std::string& title, const std::string& description,
               const std::string& category = "infrastruktur", const std::string& region = "32.04") {
  return json{{"title", title},
              {"description", description},
              {"category", category},
              {"report_type", "pengaduan"},
              {"region_code", region},
              {"reporter", {{"name", "Siti Aminah"}, {"nik", "3204123456789012"}}}};
}

// Percent-encodes a query value.
std::string Enc(const std::string& v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::set<std::string> Ids(const json& page) {
  std::set<std::string> ids;
  for (const auto& item : page["items"]) ids.insert(item["tracking_id"].get<std::string>());
  return ids;
}

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<NodeProcess>(MakeTempDir("lapor-search") + "/node");
    node_->Init("32");
    admin_ = node_->AddOperator("Admin Jabar", "admin");
    liaison_ = node_->AddOperator("Penghubung PU", "liaison", "dinas-pu");
    other_liaison_ = node_->AddOperator("Penghubung Dinkes", "liaison", "dinas-kesehatan");
    auditor_ = node_->AddOperator("Auditor", "auditor");
    node_->Start();
  }

  std::string File(const json& complaint) {
    auto r = node_->Post("/api/v1/complaints", complaint);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("tracking_id", "");
  }
  std::string FileConfidential(json complaint) {
    complaint["confidential"] = true;
    complaint["report_type"] = "whistleblowing";
    return File(complaint);
  }
  void Act(const std::string& id, const json& body, const std::string& token) {
    auto r = node_->Post("/api/v1/complaints/" + id + "/actions", body, token);
    EXPECT_EQ(r.status, 200) << body.dump() << " -> " << r.body;
  }
  // GET /api/v1/search?<query>; expects `status`.
  json Search(const std::string& query, const std::string& token, int status = 200) {
    auto r = node_->Get("/api/v1/search?" + query, token);
    EXPECT_EQ(r.status, status) << query << " -> " << r.body;
    return r.Json();
  }
  // Every page of a search, following next_cursor; fails on a repeated id.
  std::vector<std::string> AllPages(const std::string& query, const std::string& token, int limit) {
    std::vector<std::string> ids;
    std::set<std::string> seen;
    std::string cursor;
    for (int pages = 0; pages < 50; ++pages) {
      json page = Search(
          query + "&limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor),
          token);
      EXPECT_LE(page["items"].size(), static_cast<size_t>(limit));
      for (const auto& item : page["items"]) {
        const std::string id = item["tracking_id"];
        EXPECT_TRUE(seen.insert(id).second) << "repeated " << id;
        ids.push_back(id);
      }
      if (page["next_cursor"].is_null()) return ids;
      cursor = page["next_cursor"];
    }
    ADD_FAILURE() << "more than 50 pages";
    return ids;
  }

  // Every page of GET /api/v1/complaints?<query>, following next_cursor.
  std::vector<std::string> AllListed(const std::string& query, const std::string& token) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int pages = 0; pages < 50; ++pages) {
      auto r = node_->Get(
          "/api/v1/complaints?" + query + "&limit=7" + (cursor.empty() ? "" : "&cursor=" + cursor),
          token);
      EXPECT_EQ(r.status, 200) << r.body;
      const json page = r.Json();
      for (const auto& item : page["items"]) ids.push_back(item["tracking_id"]);
      if (page["next_cursor"].is_null()) return ids;
      cursor = page["next_cursor"];
    }
    ADD_FAILURE() << "more than 50 pages";
    return ids;
  }

  std::unique_ptr<NodeProcess> node_;
  std::string admin_, liaison_, other_liaison_, auditor_;
};

// "lubang" finds "berlubang" (the trigram index matches inside words), in the title or the
// description, in any case; several words must all be there; the list's filters narrow it.
TEST_F(SearchTest, FindsWordsInsideWordsCombinedWithTheListFilters) {
  const std::string a = File(Complaint("Jalan berlubang di Cibinong", "Sudah sebulan."));
  const std::string b = File(Complaint("Trotoar rusak", "Ada LUBANG besar dekat halte."));
  const std::string c = File(Complaint("Sampah menumpuk", "Bau busuk di pasar.", "kebersihan"));
  const std::string d =
      File(Complaint("Banjir di perumahan", "Saluran air berlubang.", "kebersihan", "32.73"));

  EXPECT_EQ(Ids(Search("q=lubang", admin_)), (std::set<std::string>{a, b, d}));
  EXPECT_EQ(Ids(Search("q=LuBaNg", admin_)), (std::set<std::string>{a, b, d}));
  EXPECT_EQ(Ids(Search("q=" + Enc("lubang halte"), admin_)), (std::set<std::string>{b}));
  EXPECT_EQ(Ids(Search("q=" + Enc("  sampah\tpasar "), admin_)), (std::set<std::string>{c}));
  EXPECT_TRUE(Search("q=jembatan", admin_)["items"].empty());
  // Newest first, as the list.
  const json all = Search("q=lubang", admin_);
  ASSERT_EQ(all["items"].size(), 3u);
  EXPECT_EQ(all["items"][0]["tracking_id"], d);
  EXPECT_EQ(all["items"][2]["tracking_id"], a);
  EXPECT_EQ(all["items"][0]["title"], "Banjir di perumahan");
  EXPECT_TRUE(all["next_cursor"].is_null());

  // Filters: category, region, status, agency (and a liaison's own agency), overdue.
  EXPECT_EQ(Ids(Search("q=lubang&category=kebersihan", admin_)), (std::set<std::string>{d}));
  EXPECT_EQ(Ids(Search("q=lubang&region_code=32.04", admin_)), (std::set<std::string>{a, b}));
  Act(a, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_);
  EXPECT_EQ(Ids(Search("q=lubang&status=terdisposisi", admin_)), (std::set<std::string>{a}));
  EXPECT_EQ(Ids(Search("q=lubang&status=belum_terverifikasi&report_type=pengaduan", admin_)),
            (std::set<std::string>{b, d}));
  EXPECT_EQ(Ids(Search("q=lubang&agency=dinas-pu", admin_)), (std::set<std::string>{a}));
  EXPECT_EQ(Ids(Search("q=lubang", liaison_)), (std::set<std::string>{a}));
  EXPECT_TRUE(Search("q=lubang", other_liaison_)["items"].empty());
  Search("q=lubang&agency=dinas-pu", other_liaison_, 403);
  EXPECT_TRUE(Search("q=lubang&overdue=true", admin_)["items"].empty());
  EXPECT_EQ(Ids(Search("q=lubang&overdue=false", admin_)), (std::set<std::string>{a, b, d}));
  // The index holds the text (a new case is found at once: it is written with the case).
  const std::string e = File(Complaint("Lubang di jembatan", "Besi berkarat."));
  EXPECT_EQ(Ids(Search("q=jembatan", admin_)), (std::set<std::string>{e}));
}

// Pages follow next_cursor with nothing repeated or missed, also when confidential matches (read
// from their sealed content) are merged in between public ones from the index.
TEST_F(SearchTest, PagesNeitherRepeatNorMissAcrossPublicAndConfidentialMatches) {
  std::vector<std::string> public_ids, secret_ids;
  for (int i = 0; i < 9; ++i) {
    json c = Complaint("Keluhan nomor " + std::to_string(i), "Jalan berlubang lagi.");
    if (i % 3 == 1) {
      secret_ids.push_back(FileConfidential(c));
    } else {
      public_ids.push_back(File(c));
    }
    File(Complaint("Lain " + std::to_string(i), "Tidak ada hubungannya."));  // never matches
  }
  std::set<std::string> all(public_ids.begin(), public_ids.end());
  all.insert(secret_ids.begin(), secret_ids.end());
  for (int limit : {1, 2, 4, 50}) {
    auto ids = AllPages("q=berlubang", admin_, limit);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), all) << "limit " << limit;
    EXPECT_EQ(ids.size(), all.size()) << "limit " << limit;
    // The auditor pages through the public ones only.
    auto audited = AllPages("q=berlubang", auditor_, limit);
    EXPECT_EQ(std::set<std::string>(audited.begin(), audited.end()),
              std::set<std::string>(public_ids.begin(), public_ids.end()))
        << "limit " << limit;
  }
  // Newest first across both kinds.
  auto ids = AllPages("q=berlubang", admin_, 3);
  ASSERT_EQ(ids.size(), 9u);
  EXPECT_EQ(ids.front(), public_ids.back());  // case 8, public
  EXPECT_EQ(ids[1], secret_ids.back());       // case 7, confidential

  // sort=deadline merges both kinds in the list's deadline order: verified cases (their response
  // deadline, 5 working days on) come after those still awaiting verification (3).
  Act(public_ids[0], {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_);
  Act(secret_ids[0], {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_);
  std::vector<std::string> listed_order;  // the list's deadline order, matches only
  for (const auto& id : AllListed("sort=deadline", admin_)) {
    if (all.count(id)) listed_order.push_back(id);
  }
  ASSERT_EQ(listed_order.size(), 9u);
  EXPECT_EQ((std::set<std::string>{listed_order[7], listed_order[8]}),
            (std::set<std::string>{public_ids[0], secret_ids[0]}));
  for (int limit : {1, 2, 4, 50}) {
    EXPECT_EQ(AllPages("q=berlubang&sort=deadline", admin_, limit), listed_order)
        << "limit " << limit;
  }
  // A cursor of the other order is refused, naming it.
  const json first = Search("q=berlubang&limit=1", admin_);
  const json refused = Search(
      "q=berlubang&sort=deadline&cursor=" + first["next_cursor"].get<std::string>(), admin_, 400);
  EXPECT_EQ(refused["error"]["field"], "cursor") << refused.dump();
}

// format=csv: a header row, RFC 4180 quoting, and cells a spreadsheet would run as formulas
// defused with a leading apostrophe; the next page's cursor in X-Next-Cursor.
TEST_F(SearchTest, CsvExportQuotesAndDefusesFormulas) {
  const std::string formula = File(
      Complaint("=HYPERLINK(\"http://x.example\",\"klik\") lubang, jalan", "Deskripsi biasa."));
  const std::string minus = File(Complaint("-2 lubang di jalan", "Biasa."));
  const std::string plus = File(Complaint("+62 lubang", "Biasa."));
  const std::string at = File(Complaint("@camat lubang", "Biasa."));
  const std::string plain = File(Complaint("Lubang biasa", "Tanpa tanda."));

  auto r = node_->Get("/api/v1/search?q=lubang&format=csv", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/csv; charset=utf-8");
  EXPECT_EQ(r.headers.count("x-next-cursor"), 0u);
  std::vector<std::string> lines;
  for (size_t at_line = 0; at_line < r.body.size();) {
    size_t end = r.body.find("\r\n", at_line);
    ASSERT_NE(end, std::string::npos) << "a row without CRLF: " << r.body;
    lines.push_back(r.body.substr(at_line, end - at_line));
    at_line = end + 2;
  }
  ASSERT_EQ(lines.size(), 6u) << r.body;
  EXPECT_EQ(lines[0],
            "tracking_id,status,report_type,category,region_code,agency,title,confidential,"
            "created_at,updated_at,due_at,due_kind,overdue,escalated,owner_node");
  // Newest first: plain, at, plus, minus, formula.
  EXPECT_EQ(lines[1].rfind(plain + ",belum_terverifikasi,pengaduan,infrastruktur,32.04,,", 0), 0u)
      << lines[1];
  EXPECT_NE(lines[1].find(",Lubang biasa,false,"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(",'@camat lubang,"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find(",'+62 lubang,"), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find(",'-2 lubang di jalan,"), std::string::npos) << lines[4];
  EXPECT_NE(lines[5].find(",\"'=HYPERLINK(\"\"http://x.example\"\",\"\"klik\"\") lubang, jalan\","),
            std::string::npos)
      << lines[5];
  EXPECT_EQ(r.body.find("Siti"), std::string::npos);  // no personal data in the export

  // A page of two: the cursor in a header; the next page continues without a repeat.
  auto first = node_->Get("/api/v1/search?q=lubang&format=csv&limit=2", admin_);
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(first.headers.count("x-next-cursor"), 1u);
  auto second = node_->Get(
      "/api/v1/search?q=lubang&format=csv&limit=2&cursor=" + first.headers["x-next-cursor"],
      admin_);
  ASSERT_EQ(second.status, 200);
  EXPECT_NE(second.body.find(plus + ","), std::string::npos) << second.body;
  EXPECT_NE(second.body.find(minus + ","), std::string::npos) << second.body;
  EXPECT_EQ(second.body.find(at + ","), std::string::npos) << second.body;
  EXPECT_EQ(second.body.find(formula + ","), std::string::npos) << second.body;
}

// A confidential case is found by a word of its content only by who may read that content: the
// owner's admin and the liaison of its agency (and each find is in the access record); another
// agency's liaison and the auditor find nothing, whatever filter they add, and its text is not in
// the index. A public case shows them the public view. After an erasure of the content nobody
// finds it by that word.
TEST_F(SearchTest, ConfidentialContentIsFoundOnlyByWhoMayReadIt) {
  json secret = Complaint("Pungutan liar di kantor kecamatan", "Petugas minta uang gratifikasi.");
  const std::string s = FileConfidential(secret);
  Act(s, {{"action", "verify"}, {"agency", "dinas-pu"}}, admin_);
  json open =
      Complaint("Puskesmas tutup", "Dokter tidak ada, gratifikasi diminta di depan.", "kesehatan");
  const std::string p = File(open);
  Act(p, {{"action", "verify"}, {"agency", "dinas-kesehatan"}}, admin_);

  const json by_admin = Search("q=gratifikasi", admin_);
  EXPECT_EQ(Ids(by_admin), (std::set<std::string>{s, p}));
  EXPECT_EQ(Ids(Search("q=" + Enc("pungutan KECAMATAN"), admin_)), (std::set<std::string>{s}));
  EXPECT_EQ(Ids(Search("q=gratifikasi&category=infrastruktur", admin_)),
            (std::set<std::string>{s}));
  EXPECT_EQ(Ids(Search("q=gratifikasi", liaison_)), (std::set<std::string>{s}));
  for (const auto& item : by_admin["items"]) {
    if (item["tracking_id"] == s) {
      EXPECT_EQ(item["confidential"], true);
      EXPECT_EQ(item["category"], "infrastruktur");  // the admin may read its content
    }
  }
  // Each find of the confidential case was recorded as a read of its content.
  const json record = node_->Get("/api/v1/complaints/" + s + "/access-log", admin_).Json();
  int reads = 0;
  for (const auto& r : record["items"]) {
    if (r["fields"] == json({"confidential_content"})) ++reads;
  }
  EXPECT_EQ(reads, 4) << record.dump();

  // Another agency's liaison and the auditor: never the confidential case.
  for (const std::string& token : {other_liaison_, auditor_}) {
    for (const char* q : {"q=gratifikasi", "q=pungutan", "q=kecamatan&status=terdisposisi",
                          "q=gratifikasi&format=csv", "q=gratifikasi&report_type=whistleblowing"}) {
      auto r = node_->Get(std::string("/api/v1/search?") + q, token);
      ASSERT_EQ(r.status, 200) << q << " " << r.body;
      EXPECT_EQ(r.body.find(s), std::string::npos) << q << " " << r.body;
    }
  }
  // The public case, in its public view: found by the auditor and its agency's liaison, without
  // the reporter.
  for (const std::string& token : {other_liaison_, auditor_}) {
    const json page = Search("q=gratifikasi", token);
    EXPECT_EQ(Ids(page), (std::set<std::string>{p}));
    EXPECT_EQ(page["items"][0]["title"], "Puskesmas tutup");
    EXPECT_FALSE(page["items"][0].contains("reporter")) << page.dump();
    EXPECT_EQ(page.dump().find("Siti"), std::string::npos);
  }
  // The index never held the confidential text.
  auto indexed = RunCommand({"/usr/bin/sqlite3", node_->data_dir() + "/lapor.db",
                             "SELECT count(*) FROM case_text WHERE case_text MATCH 'pungutan'"});
  EXPECT_EQ(indexed.output, "0\n") << indexed.output;
  auto public_indexed = RunCommand({"/usr/bin/sqlite3", node_->data_dir() + "/lapor.db",
                                    "SELECT count(*) FROM case_text WHERE case_text MATCH "
                                    "'gratifikasi'"});
  EXPECT_EQ(public_indexed.output, "1\n") << public_indexed.output;
  // Without a token: 401.
  EXPECT_EQ(node_->Get("/api/v1/search?q=gratifikasi").status, 401);

  // The admin erases the confidential case's content: it is found by its words no more.
  Act(s, {{"action", "erase"}}, admin_);
  EXPECT_EQ(Ids(Search("q=gratifikasi", admin_)), (std::set<std::string>{p}));
  EXPECT_TRUE(Search("q=pungutan", admin_)["items"].empty());
  EXPECT_TRUE(Search("q=pungutan", liaison_)["items"].empty());
}

// Bad input: a 400 naming the parameter, for every way a query can be wrong.
TEST_F(SearchTest, BadQueriesAreRefusedNamingTheField) {
  File(Complaint("Jalan berlubang", "Sudah lama."));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "q"},
      {"q=", "q"},
      {"q=ab", "q"},
      {"q=" + Enc("jalan ab"), "q"},
      {"q=" + Enc("   "), "q"},
      {"q=" + std::string(201, 'a'), "q"},
      {"q=" + Enc("aaa bbb ccc ddd eee fff ggg hhh iii jjj kkk"), "q"},
      {"q=%FF%FElubang", "q"},
      {"q=lubang%00x", "q"},
      {"q=lub%01ang", "q"},
      {"q=lubang%7F", "q"},
      {"q=lubang&limit=0", "limit"},
      {"q=lubang&limit=501", "limit"},
      {"q=lubang&cursor=abc", "cursor"},
      {"q=lubang&status=selesai_kah", "status"},
      {"q=lubang&report_type=rumor", "report_type"},
      {"q=lubang&overdue=maybe", "overdue"},
      {"q=lubang&format=xlsx", "format"},
  };
  for (const auto& [query, field] : bad) {
    auto r = node_->Get("/api/v1/search?" + query, admin_);
    EXPECT_EQ(r.status, 400) << query << " -> " << r.body;
    EXPECT_EQ(r.Json()["error"]["field"], field) << query << " -> " << r.body;
  }
  EXPECT_EQ(node_->Get("/api/v1/search?q=lubang&sort=asc", admin_).status, 400);
  EXPECT_EQ(Http(node_->port(), "POST", "/api/v1/search?q=lubang", "{}",
                 {{"Authorization", "Bearer " + admin_}, {"Content-Type", "application/json"}})
                .status,
            405);
  // Quotes and FTS5 syntax are words like any other, never an error.
  for (const char* q : {"\"lubang", "lubang\"\"", "NEAR(lubang", "lub*ang", "AND NOT NEAR"}) {
    auto r = node_->Get("/api/v1/search?q=" + Enc(q), admin_);
    EXPECT_EQ(r.status, 200) << q << " -> " << r.body;
  }
  EXPECT_EQ(Ids(Search("q=" + Enc("\"berlubang\""), admin_)).size(), 0u);
  EXPECT_EQ(Ids(Search("q=" + Enc("berlubang"), admin_)).size(), 1u);
}

// The hub finds a cross-jurisdiction case it holds (filed at 32 about 33, owned by 33) by a word
// inside a word; a confidential one it holds is found by its owner's admin only.
TEST(SearchFederationTest, TheHubFindsTheCrossJurisdictionCasesItHolds) {
  FederationOptions options;
  options.jurisdictions = {"32", "33"};
  Federation f(options);
  auto filed = f.node("32").Post(
      "/api/v1/complaints",
      Complaint("Jembatan ambruk", "Tiang penyangga berlubang.", "infrastruktur", "33"));
  ASSERT_EQ(filed.status, 201) << filed.body;
  const std::string id = filed.Json()["tracking_id"];
  json secret = Complaint("Pungli di pelabuhan", "Setoran gelap tiap truk.", "infrastruktur", "33");
  secret["confidential"] = true;
  auto filed_secret = f.node("32").Post("/api/v1/complaints", secret);
  ASSERT_EQ(filed_secret.status, 201) << filed_secret.body;
  const std::string secret_id = filed_secret.Json()["tracking_id"];

  auto found = [&](const std::string& node, const std::string& q, const std::string& want) {
    auto r = f.node(node).Get("/api/v1/search?q=" + q, f.admin_token(node));
    return r.status == 200 && Ids(r.Json()).count(want) == 1;
  };
  EXPECT_TRUE(Eventually("the hub finds the case by a word inside a word",
                         [&] { return found("00", "lubang", id); }));
  // The owner (its delivery is another sender's than the hub's: it may come later) and the origin.
  EXPECT_TRUE(Eventually("the owner finds the case", [&] { return found("33", "lubang", id); }));
  EXPECT_TRUE(found("32", "lubang", id));
  // The confidential case: its owner's admin finds it once its sealed content arrived; the hub's
  // admin (an auditor of others' cases) and the origin's do not.
  EXPECT_TRUE(Eventually("the owner finds the confidential case",
                         [&] { return found("33", "pelabuhan", secret_id); }));
  EXPECT_FALSE(found("00", "pelabuhan", secret_id));
  EXPECT_FALSE(found("32", "pelabuhan", secret_id));
  EXPECT_EQ(f.hub().Get("/api/v1/search?q=pelabuhan", f.admin_token("00")).body.find(secret_id),
            std::string::npos);
}

}  // namespace
}  // namespace lapor::testing
