// The HTTP edge's routers in-process, without sockets: Request in, Response out. Dispatch tries
// the routers in order and answers 404 itself; each router serves only its surface; a complaint
// goes in and comes back out through the citizen and operator routers over a real CaseService.
// (The real binary's HTTP behaviour is node_http_test's.)
#include "node/http_router.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "harness/node_process.h"
#include "node/citizen_router.h"
#include "node/federation_router.h"
#include "node/log_context.h"
#include "node/metrics.h"
#include "node/operator_router.h"
#include "node/ops_router.h"
#include "node/page_router.h"
#include "node/sessions.h"
#include "node/witness_router.h"

namespace lapor::node {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1796004000000;  // 2026-11-30 02:00 UTC, a Monday

Request Make(const std::string& method, const std::string& path,
             std::vector<std::pair<std::string, std::string>> query = {}, std::string body = "") {
  Request r;
  r.method = method;
  r.path = path;
  r.target = path;
  for (size_t at = 0; at <= path.size();) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) r.segments.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  r.decoded_segments = r.segments;  // the tests' paths hold no %-escapes
  for (auto& [k, v] : query) r.query.push_back({k, v});
  r.body = std::move(body);
  r.now_ms = kNow;
  return r;
}

// Collects the one reply of a request, which may come from another thread.
class Replies {
 public:
  Reply reply() {
    return [this](Response r) {
      std::lock_guard<std::mutex> lock(mu_);
      ++count_;
      last_ = std::move(r);
      cv_.notify_all();
    };
  }
  Response Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(10), [&] { return count_ > 0; }));
    EXPECT_EQ(count_, 1);
    return last_;
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
  Response last_;
};

// Serves `req` with `router` and waits for its reply; fails if the router does not serve it.
Response Serve(Router& router, const Request& req) {
  Replies replies;
  EXPECT_TRUE(router.Handle(req, replies.reply())) << req.method << " " << req.path;
  return replies.Wait();
}

// Whether `router` leaves `req` to others (and does not reply).
bool Passes(Router& router, const Request& req) {
  Replies replies;
  bool served = router.Handle(req, replies.reply());
  return !served && replies.count() == 0;
}

json Error(const Response& r) { return json::parse(r.body)["error"]; }

const Executor kInline = [](std::function<void()> fn) { fn(); };

class HttpRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("lapor-edge");
    auto store = storage::Store::Open(dir_ + "/lapor.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    CaseServiceOptions o;
    o.node_id = "32";
    o.jurisdiction = "32";
    o.key = std::make_shared<const crypto::SigningKey>(crypto::SigningKey::Generate());
    o.sealing_key = crypto::RandomBytes(32);
    o.clock = &clock_;
    auto svc = CaseService::Open(o, store_.get(), std::make_shared<protocol::WorkingCalendar>());
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    service_ = std::move(*svc);
    ASSERT_TRUE(
        store_->AddOperator(storage::Operator{0, "admin", "admin", ""}, CaseService::HashToken("t"))
            .ok());
  }

  static std::string Complaint() {
    return json{{"title", "Jalan berlubang di depan SDN 1"},
                {"description", "Jalan berlubang sejak sebulan, sudah dua pengendara jatuh."},
                {"category", "infrastruktur"},
                {"report_type", "pengaduan"},
                {"region_code", "32.04"},
                {"reporter", {{"name", "Siti Aminah"}}}}
        .dump();
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<CaseService> service_;
  UploadStore uploads_{3600 * 1000LL, 1 << 20};
};

TEST(DispatchTest, ARequestNoRouterServesIs404) {
  Replies replies;
  Dispatch({}, Make("GET", "/nowhere"), replies.reply());
  Response r = replies.Wait();
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.cache_control, "no-store");
  EXPECT_EQ(r.body,
            R"({"error":{"code":"not_found","field":"path","message":"no such endpoint"}})");
}

TEST(DispatchTest, APathThatIsNotUtf8IsRefusedFirst) {
  Request req = Make("GET", "/healthz");
  req.decoded_segments = {"\xff"};
  struct Never : Router {
    bool Handle(const Request&, const Reply&) override {
      ADD_FAILURE() << "routed";
      return false;
    }
  } never;
  Replies replies;
  Dispatch({&never}, req, replies.reply());
  Response r = replies.Wait();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Error(r)["message"], "path is not valid UTF-8");
}

TEST(DispatchTest, TheFirstRouterThatServesARequestRepliesOnce) {
  struct Fixed : Router {
    Fixed(std::string p, int s) : path(std::move(p)), status(s) {}
    bool Handle(const Request& req, const Reply& reply) override {
      if (req.path != path) return false;
      reply(RawResponse(status, "", "text/plain", "no-store"));
      return true;
    }
    std::string path;
    int status;
  } a("/a", 201), b("/b", 202), also_b("/b", 203);
  for (auto [path, status] : {std::pair<const char*, int>{"/a", 201}, {"/b", 202}}) {
    Replies replies;
    Dispatch({&a, &b, &also_b}, Make("GET", path), replies.reply());
    EXPECT_EQ(replies.Wait().status, status);
  }
}

TEST(QueryTest, OnlyKnownParametersThatDecode) {
  Request req = Make("GET", "/x", {{"after", "5"}, {"limit", "2"}});
  auto q = Query(req, {"after", "limit"});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)["after"], "5");
  q = Query(req, {"after"});
  EXPECT_EQ(q.status().message(), "unknown query parameter");
  EXPECT_EQ(q.status().field(), "limit");
  req.query.push_back({std::nullopt, "1"});
  EXPECT_EQ(Query(req, {"after", "limit"}).status().message(), "malformed query string");

  uint64_t after = 0, limit = 0;
  QueryMap page{{"after", "7"}};
  ASSERT_TRUE(QueryPage(page, &after, &limit).ok());
  EXPECT_EQ(after, 7u);
  EXPECT_EQ(limit, 100u);
  page = {{"limit", "1001"}};
  EXPECT_EQ(QueryPage(page, &after, &limit).field(), "limit");
}

TEST_F(HttpRouterTest, HealthzServesTheNodeIdAndNextSeq) {
  OpsRouter ops(service_.get(), store_.get());
  Response r = Serve(ops, Make("GET", "/healthz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), (json{{"status", "ok"}, {"node_id", "32"}, {"next_seq", 0}}));
  EXPECT_EQ(Serve(ops, Make("POST", "/healthz")).status, 405);
  EXPECT_TRUE(Passes(ops, Make("GET", "/healthz/more")));
  EXPECT_TRUE(Passes(ops, Make("GET", "/api/v1/complaints")));
}

TEST_F(HttpRouterTest, AComplaintGoesInAndComesBackOut) {
  CitizenRouter citizens(service_.get(), 64 * 1024, &uploads_, kInline);
  OperatorRouter operators(service_.get(), 64 * 1024, kInline);

  Response created = Serve(citizens, Make("POST", "/api/v1/complaints", {}, Complaint()));
  ASSERT_EQ(created.status, 201) << created.body;
  json c = json::parse(created.body);
  const std::string id = c["tracking_id"], code = c["access_code"];
  EXPECT_EQ(c["status"], "belum_terverifikasi");

  // The reporter reads it back with the access code.
  Response view = Serve(citizens, Make("GET", "/api/v1/complaints/" + id, {{"access_code", code}}));
  ASSERT_EQ(view.status, 200) << view.body;
  EXPECT_EQ(json::parse(view.body)["title"], "Jalan berlubang di depan SDN 1");
  EXPECT_EQ(json::parse(view.body)["access"], "reporter");

  // An operator lists it, reads its signed events and acts on it.
  Request list = Make("GET", "/api/v1/complaints");
  list.headers["authorization"] = "Bearer t";  // header names are case-insensitive
  Response listed = Serve(operators, list);
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(json::parse(listed.body)["items"].size(), 1u);
  EXPECT_EQ(json::parse(listed.body)["items"][0]["tracking_id"], id);
  list.headers.clear();
  EXPECT_EQ(Error(Serve(operators, list))["code"], "unauthenticated");
  Request events = Make("GET", "/api/v1/complaints/" + id + "/events");
  events.headers["Authorization"] = "Bearer t";
  Response signed_events = Serve(operators, events);
  ASSERT_EQ(signed_events.status, 200) << signed_events.body;
  EXPECT_EQ(json::parse(signed_events.body)["events"].size(), 1u);

  Request act = Make("POST", "/api/v1/complaints/" + id + "/actions", {},
                     json{{"action", "verify"}, {"agency", "dinas-pu"}}.dump());
  act.headers["Authorization"] = "Bearer t";
  Response acted = Serve(operators, act);
  ASSERT_EQ(acted.status, 200) << acted.body;
  EXPECT_EQ(json::parse(acted.body)["status"], "terdisposisi");

  // Unknown query parameters and malformed bodies are refused with the field named.
  Response bad = Serve(citizens, Make("POST", "/api/v1/complaints", {{"x", "1"}}, Complaint()));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Error(bad)["field"], "x");
  bad = Serve(citizens, Make("POST", "/api/v1/complaints", {}, "{"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Error(bad)["field"], "body");
  bad = Serve(citizens, Make("POST", "/api/v1/complaints", {}, std::string(64 * 1024 + 1, ' ')));
  EXPECT_EQ(bad.status, 413);
}

TEST_F(HttpRouterTest, TheCitizenAndOperatorRoutersSplitApiV1) {
  CitizenRouter citizens(service_.get(), 64 * 1024, &uploads_, kInline);
  OperatorRouter operators(service_.get(), 64 * 1024, kInline);
  // The citizen's: submit, read.
  EXPECT_TRUE(Passes(operators, Make("POST", "/api/v1/complaints")));
  EXPECT_TRUE(Passes(operators, Make("GET", "/api/v1/complaints/X")));
  // The operator's: list, actions, signed events, access logs.
  EXPECT_TRUE(Passes(citizens, Make("GET", "/api/v1/complaints")));
  EXPECT_TRUE(Passes(citizens, Make("GET", "/api/v1/complaints/X/events")));
  EXPECT_TRUE(Passes(citizens, Make("POST", "/api/v1/complaints/X/actions")));
  EXPECT_TRUE(Passes(citizens, Make("GET", "/api/v1/complaints/X/access-log")));
  EXPECT_TRUE(Passes(citizens, Make("GET", "/api/v1/access-log")));
  // Neither: left to the 404.
  for (const char* path : {"/api/v1/complaints/X/other", "/api/v1/complaints/X/events/1",
                           "/api/v1/other", "/api/v2/complaints"}) {
    EXPECT_TRUE(Passes(citizens, Make("GET", path))) << path;
    EXPECT_TRUE(Passes(operators, Make("GET", path))) << path;
  }
  EXPECT_TRUE(Passes(operators, Make("DELETE", "/api/v1/complaints/X")));
  // The collection's other methods, and the access log's.
  Response r = Serve(operators, Make("PUT", "/api/v1/complaints"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(Error(r)["message"], "use GET or POST");
  EXPECT_EQ(Serve(operators, Make("POST", "/api/v1/access-log")).status, 405);
}

TEST_F(HttpRouterTest, FederationWithoutAManifest) {
  StatsService reports(store_.get(), service_->node_id(), nullptr);
  FederationRouter federation(service_.get(), store_.get(), nullptr, nullptr, nullptr, 0, kInline,
                              &reports);
  Response r = Serve(federation, Make("POST", "/federation/v1/events"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Error(r)["message"], "this node has no federation manifest");
  EXPECT_EQ(Serve(federation, Make("GET", "/federation/v1/stats")).status, 401);
  Request stats = Make("GET", "/federation/v1/stats");
  stats.headers["Authorization"] = "Bearer t";
  r = Serve(federation, stats);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), (json{{"nodes", json::array()},
                                       {"total_cases", 0},
                                       {"sla_breaches", 0},
                                       {"counts", json::object()}}));
  EXPECT_EQ(Error(Serve(federation, Make("PUT", "/federation/v1/stats")))["message"],
            "use GET or POST");
  EXPECT_EQ(Serve(federation, Make("GET", "/federation/v1/manifest")).status, 404);
  EXPECT_TRUE(Passes(federation, Make("GET", "/federation/v1/other")));
}

TEST(WitnessRouterTest, ANodeThatWitnessesNothing) {
  WitnessRouter witness(nullptr, 1024);
  Response r = Serve(witness, Make("GET", "/witness/vkey"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r)["message"], "this node witnesses no logs");
  EXPECT_TRUE(Passes(witness, Make("GET", "/witness/other")));
}

// Metric labels come from a fixed set of route templates: a tracking id, a tile path or a path
// a client invents never becomes a label value.
TEST(PageRouterTest, ServesThePagesWithTheirSecurityHeadersAndNothingElse) {
  PageRouter pages;
  auto header = [](const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  for (const char* path : {"/", "/lapor", "/lacak"}) {
    Response r = Serve(pages, Make("GET", path));
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.cache_control, "no-cache") << path;
    EXPECT_EQ(header(r, "Content-Security-Policy"),
              "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(r.body.rfind("<!doctype html>", 0), 0u) << path;
    // Revalidation: the same ETag is 304 without a body.
    Request again = Make("GET", path);
    again.headers["If-None-Match"] = header(r, "ETag");
    Response same = Serve(pages, again);
    EXPECT_EQ(same.status, 304) << path;
    EXPECT_TRUE(same.body.empty());
  }
  EXPECT_EQ(Serve(pages, Make("GET", "/assets/app.css")).content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Serve(pages, Make("GET", "/assets/lapor.js")).content_type,
            "text/javascript; charset=utf-8");
  Response regencies = Serve(pages, Make("GET", "/assets/regencies.csv"));
  EXPECT_NE(regencies.body.find("32.04,32,"), std::string::npos);
  EXPECT_EQ(Serve(pages, Make("HEAD", "/lapor")).status, 200);
  EXPECT_EQ(Serve(pages, Make("POST", "/lapor")).status, 405);
  // Not the pages' surface: another router's, or 404 from Dispatch.
  for (const char* path : {"/index.html", "/lapor.html", "/assets/", "/assets/nope.js",
                           "/api/v1/complaints", "/healthz", "/web/lapor.html"}) {
    EXPECT_TRUE(Passes(pages, Make("GET", path))) << path;
  }
}

TEST(RouteOfTest, NamesEveryServedRouteByItsTemplateAndNothingElse) {
  using V = std::vector<std::string>;
  EXPECT_EQ(RouteOf(V{"api", "v1", "complaints"}), "/api/v1/complaints");
  EXPECT_EQ(RouteOf(V{"api", "v1", "complaints", "32-ABCDEFGHJK"}), "/api/v1/complaints/{id}");
  EXPECT_EQ(RouteOf(V{"api", "v1", "complaints", "32-ABCDEFGHJK", "actions"}),
            "/api/v1/complaints/{id}/actions");
  EXPECT_EQ(RouteOf(V{"api", "v1", "access-log"}), "/api/v1/access-log");
  EXPECT_EQ(RouteOf(V{"federation", "v1", "events"}), "/federation/v1/events");
  EXPECT_EQ(RouteOf(V{"log", "tile", "0", "x001", "234.p", "7"}), "/log/tile");
  EXPECT_EQ(RouteOf(V{"log", "tile", "entries", "000"}), "/log/tile/entries");
  EXPECT_EQ(RouteOf(V{"log", "proof", "inclusion"}), "/log/proof/inclusion");
  EXPECT_EQ(RouteOf(V{"healthz"}), "/healthz");
  EXPECT_EQ(RouteOf(V{"metrics"}), "/metrics");
  EXPECT_EQ(RouteOf(V{"witness", "add-checkpoint"}), "/witness/add-checkpoint");
  EXPECT_EQ(RouteOf(V{}), "/");
  EXPECT_EQ(RouteOf(V{"lapor"}), "/lapor");
  EXPECT_EQ(RouteOf(V{"assets", "app.css"}), "/assets");
  for (const V& other : {V{"assets"}, V{"assets", "x", "y"}, V{"lapor", "x"},
                         V{"api", "v1", "complaints", "x", "y", "z"},
                         V{"api", "v1", "complaints", "32-ABCDEFGHJK", "secret"},
                         V{"api", "v2", "complaints"}, V{"federation", "v1", "anything"},
                         V{"log", "32-ABCDEFGHJK"}, V{"32-ABCDEFGHJK"}, V{"wp-admin", "x.php"}}) {
    EXPECT_EQ(RouteOf(other), "other");
  }
}

TEST(RequestIdTest, KeepsAPlainClientIdAndMakesOneOtherwise) {
  EXPECT_EQ(RequestIdFor("abc-123_X.y"), "abc-123_X.y");
  for (const std::string& bad : {std::string(), std::string("a b"), std::string("x\ny"),
                                 std::string(65, 'a'), std::string("caf\xc3\xa9")}) {
    const std::string id = RequestIdFor(bad);
    EXPECT_EQ(id.size(), 16u) << bad;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_NE(RequestIdFor(""), RequestIdFor(""));
  EXPECT_EQ(CurrentRequestId(), "");
  {
    RequestLogScope outer("outer");
    {
      RequestLogScope inner("inner");
      EXPECT_EQ(CurrentRequestId(), "inner");
    }
    EXPECT_EQ(CurrentRequestId(), "outer");
  }
  EXPECT_EQ(CurrentRequestId(), "");
}

// Sessions end at their lifetime, the oldest go when the store is full, and the cookie parser
// finds its cookie among others and nothing that merely starts with its name.
TEST(SessionStoreTest, SessionsEndAtTheirLifetimeAndTheOldestGoFirst) {
  SessionStore store(/*lifetime_ms=*/1000, /*max_sessions=*/2, /*max_per_operator=*/2);
  const auto a = store.Open("hash-A", 1, 0);
  const auto b = store.Open("hash-B", 2, 10);
  EXPECT_EQ(a.id.size(), 64u);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.csrf, b.csrf);
  ASSERT_TRUE(store.Find(a.id, 999).has_value());
  EXPECT_EQ(store.Find(a.id, 999)->token_hash, "hash-A");
  EXPECT_FALSE(store.Find(a.id, 1000).has_value());  // ended
  EXPECT_EQ(store.size(), 1u);
  const auto c = store.Open("hash-C", 3, 20);
  const auto d = store.Open("hash-D", 4, 30);  // full: b, the oldest, goes
  EXPECT_FALSE(store.Find(b.id, 40).has_value());
  EXPECT_TRUE(store.Find(c.id, 40).has_value());
  EXPECT_TRUE(store.Find(d.id, 40).has_value());
  store.Close(c.id);
  EXPECT_FALSE(store.Find(c.id, 40).has_value());
  EXPECT_FALSE(store.Find("", 40).has_value());
}

// One operator signing in again and again ends its own oldest sessions, not the others'; an
// expired session goes at the next lookup, whichever session that lookup is for.
TEST(SessionStoreTest, AnOperatorsOwnOldestSessionsGoWhenItHasTooMany) {
  SessionStore store(/*lifetime_ms=*/1000, /*max_sessions=*/100, /*max_per_operator=*/3);
  const auto other = store.Open("hash-other", 9, 0);
  std::vector<SessionStore::Opened> mine;
  for (int i = 0; i < 50; ++i) mine.push_back(store.Open("hash-mine", 1, 10 + i));
  EXPECT_EQ(store.size(), 4u);  // the other operator's one and the last 3 of mine
  EXPECT_TRUE(store.Find(other.id, 100).has_value());
  for (int i = 0; i < 47; ++i) EXPECT_FALSE(store.Find(mine[i].id, 100).has_value()) << i;
  for (int i = 47; i < 50; ++i) EXPECT_TRUE(store.Find(mine[i].id, 100).has_value()) << i;
  // Signing out early, then the sweep: closed and expired sessions leave nothing behind.
  store.Close(mine[49].id);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.Find("unknown", 1005).has_value());  // `other` expired at 1000: swept
  EXPECT_EQ(store.size(), 2u);
  EXPECT_FALSE(store.Find(mine[48].id, 2000).has_value());
  EXPECT_EQ(store.size(), 0u);
  // The operator can sign in again afterwards.
  const auto again = store.Open("hash-mine", 1, 2000);
  EXPECT_TRUE(store.Find(again.id, 2001).has_value());
}

TEST(SessionStoreTest, CookieValueFindsItsCookieOnly) {
  EXPECT_EQ(CookieValue("lapor_session=abc", "lapor_session"), "abc");
  EXPECT_EQ(CookieValue("a=1; lapor_session=abc; b=2", "lapor_session"), "abc");
  EXPECT_EQ(CookieValue("a=1;lapor_session=abc", "lapor_session"), "abc");
  EXPECT_EQ(CookieValue("lapor_session_x=abc; a=1", "lapor_session"), std::nullopt);
  EXPECT_EQ(CookieValue("x_lapor_session=abc", "lapor_session"), std::nullopt);
  EXPECT_EQ(CookieValue("", "lapor_session"), std::nullopt);
  EXPECT_EQ(CookieValue("lapor_session=", "lapor_session"), "");
  EXPECT_EQ(CookieValue("a=1;\tlapor_session=abc\t; b=2", "lapor_session"), "abc");
  EXPECT_EQ(CookieValue("a=1; __Host-lapor_session=abc", "__Host-lapor_session"), "abc");
  EXPECT_EQ(CookieValue("a=1; __Host-lapor_session=abc", "lapor_session"), std::nullopt);
}

}  // namespace
}  // namespace lapor::node
