// The front door: Debian's nginx with deploy/nginx/lapor-node.conf (unchanged but for its ports and
// certificate paths) terminating TLS with a self-signed certificate in front of real nodes.
// - A complaint's lifecycle over HTTP/2 through it; nginx's own refusals (body too large, an
//   unknown path, the node down) in the node's JSON error format; plain HTTP redirected.
// - A federation delivery from 32 to 33 through nginx over https: refused while 32 does not trust
//   the certificate, delivered once 32's tls_ca_file names it.
#include <gtest/gtest.h>
#include <signal.h>
#include <strings.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "harness/eventually.h"
#include "harness/federation_harness.h"
#include "harness/node_process.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CurlResponse {
  int status = 0;
  std::string body;
  std::string http_version;
  std::string location;
  std::string set_cookie;  // the Set-Cookie header's value, if any
};

// nginx on two free loopback ports (https and http) in front of the node listening on `upstream`.
class Nginx {
 public:
  explicit Nginx(int upstream) : prefix_(MakeTempDir("lapor-nginx")) {
    cert_ = prefix_ + "/cert.pem";
    key_ = prefix_ + "/key.pem";
    auto made = RunCommand(
        {LAPOR_OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=lapor-test", "-addext",
         "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key_, "-out", cert_});
    if (made.exit_code != 0) throw std::runtime_error("openssl: " + made.output);
    tls_port_ = FreePort();
    http_port_ = FreePort();
    std::string site = ReadText(std::string(LAPOR_SOURCE_DIR) + "/deploy/nginx/lapor-node.conf");
    auto replace = [&site](const std::string& from, const std::string& to) {
      const size_t at = site.find(from);
      if (at == std::string::npos) throw std::runtime_error("lapor-node.conf lacks: " + from);
      site.replace(at, from.size(), to);
    };
    replace("server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(upstream) + ";");
    replace("listen 80;", "listen 127.0.0.1:" + std::to_string(http_port_) + ";");
    replace("listen [::]:80;", "");
    replace("listen 443 ssl http2;",
            "listen 127.0.0.1:" + std::to_string(tls_port_) + " ssl http2;");
    replace("listen [::]:443 ssl http2;", "");
    replace("/etc/lapor/tls/fullchain.pem", cert_);
    replace("/etc/lapor/tls/privkey.pem", key_);
    std::ofstream(prefix_ + "/lapor-node.conf") << site;
    std::ofstream(prefix_ + "/nginx.conf")
        << "user root;\nworker_processes 1;\npid " << prefix_ << "/nginx.pid;\nerror_log "
        << prefix_ << "/error.log;\nevents { worker_connections 256; }\nhttp {\n  access_log "
        << prefix_ << "/access.log;\n  client_body_temp_path " << prefix_ << "/body;\n"
        << "  proxy_temp_path " << prefix_ << "/proxy;\n  fastcgi_temp_path " << prefix_
        << "/fastcgi;\n  uwsgi_temp_path " << prefix_ << "/uwsgi;\n  scgi_temp_path " << prefix_
        << "/scgi;\n  include " << prefix_ << "/lapor-node.conf;\n}\n";
    auto started = RunCommand({LAPOR_NGINX, "-p", prefix_, "-c", prefix_ + "/nginx.conf"});
    if (started.exit_code != 0) {
      throw std::runtime_error("nginx: " + started.output + ReadText(prefix_ + "/error.log"));
    }
    running_ = true;
  }
  ~Nginx() {
    if (running_)
      RunCommand({LAPOR_NGINX, "-p", prefix_, "-c", prefix_ + "/nginx.conf", "-s", "stop"});
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(tls_port_); }
  const std::string& cert() const { return cert_; }
  std::string access_log() const { return ReadText(prefix_ + "/access.log"); }

  // One request with curl (HTTP/2 over TLS, the certificate checked against cert()).
  CurlResponse Request(const std::string& method, const std::string& path,
                       const std::string& body = "", const std::vector<std::string>& headers = {},
                       bool tls = true) const {
    std::vector<std::string> argv = {LAPOR_CURL, "-sS",
                                     "-X",       method,
                                     "--cacert", cert_,
                                     "-o",       "-",
                                     "-w",       "\n%{http_code} %{http_version} %{redirect_url}",
                                     "-D",       prefix_ + "/response-headers"};
    if (tls) argv.push_back("--http2");
    for (const auto& h : headers) {
      argv.push_back("-H");
      argv.push_back(h);
    }
    if (!body.empty()) {
      const std::string file = prefix_ + "/request-body";
      std::ofstream(file, std::ios::binary) << body;
      argv.push_back("-H");
      argv.push_back("Content-Type: application/json");
      argv.push_back("--data-binary");
      argv.push_back("@" + file);
    }
    argv.push_back((tls ? url() : "http://127.0.0.1:" + std::to_string(http_port_)) + path);
    auto r = RunCommand(argv);
    CurlResponse out;
    const size_t nl = r.output.rfind('\n');
    if (nl == std::string::npos) return out;
    out.body = r.output.substr(0, nl);
    std::istringstream tail(r.output.substr(nl + 1));
    tail >> out.status >> out.http_version >> out.location;
    std::istringstream got(ReadText(prefix_ + "/response-headers"));
    for (std::string line; std::getline(got, line);) {
      if (line.size() > 11 && strncasecmp(line.c_str(), "set-cookie:", 11) == 0) {
        out.set_cookie = line.substr(line.find_first_not_of(' ', 11));
        while (!out.set_cookie.empty() && out.set_cookie.back() == '\r') out.set_cookie.pop_back();
      }
    }
    return out;
  }

 private:
  std::string prefix_, cert_, key_;
  int tls_port_ = 0, http_port_ = 0;
  bool running_ = false;
};

json Complaint() {
  return json{{"title", "Trotoar rusak"},
              {"description", "Trotoar di depan puskesmas rusak dan membahayakan pejalan kaki."},
              {"category", "infrastruktur"},
              {"report_type", "pengaduan"},
              {"region_code", "32.04"},
              {"reporter", {{"name", "Wati"}}}};
}

json Parsed(const CurlResponse& r) { return json::parse(r.body, nullptr, false); }

TEST(NginxTest, ACaseLivesItsWholeLifeThroughTheFrontDoor) {
  NodeProcess node(MakeTempDir("lapor-nginx-node") + "/node");
  node.Init("32");
  node.SetConfig("edge", {{"trusted_proxies", json::array({"127.0.0.1"})}});
  const std::string admin = node.AddOperator("Admin Jabar", "admin");
  node.Start();
  node.SetPort(node.port());  // restarts keep the port nginx proxies to
  Nginx nginx(node.port());
  ASSERT_TRUE(Eventually("nginx serves the node's /healthz over https",
                         [&] { return nginx.Request("GET", "/healthz").status == 200; }));

  auto filed = nginx.Request("POST", "/api/v1/complaints", Complaint().dump());
  ASSERT_EQ(filed.status, 201) << filed.body;
  EXPECT_EQ(filed.http_version, "2");
  const std::string id = Parsed(filed)["tracking_id"];
  const std::string code = Parsed(filed)["access_code"];
  auto verified = nginx.Request("POST", "/api/v1/complaints/" + id + "/actions",
                                json{{"action", "verify"}, {"agency", "dinas-pu"}}.dump(),
                                {"Authorization: Bearer " + admin});
  ASSERT_EQ(verified.status, 200) << verified.body;
  auto seen = nginx.Request("GET", "/api/v1/complaints/" + id, "", {"X-Access-Code: " + code});
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(Parsed(seen)["status"], "terdisposisi");
  EXPECT_EQ(nginx.Request("GET", "/log/checkpoint").status, 200);
  // The node's own refusals pass through as they are.
  auto wrong = nginx.Request("GET", "/api/v1/complaints/" + id, "", {"X-Access-Code: WRONGCODE"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Parsed(wrong)["error"]["code"], "unauthenticated") << wrong.body;

  // nginx's own refusals speak the node's error format.
  json big = Complaint();
  big["description"] = std::string(100 * 1024, 'x');
  auto too_large = nginx.Request("POST", "/api/v1/complaints", big.dump());
  EXPECT_EQ(too_large.status, 413);
  EXPECT_EQ(Parsed(too_large)["error"]["code"], "too_large") << too_large.body;
  // The citizen's pages and their files reach the node (node/page_router.h).
  for (const char* path : {"/", "/lapor", "/lacak", "/assets/app.css"}) {
    auto page = nginx.Request("GET", path);
    EXPECT_EQ(page.status, 200) << path << ": " << page.body;
  }
  EXPECT_NE(nginx.Request("GET", "/lapor").body.find("<h1>Buat laporan</h1>"), std::string::npos);
  auto unknown = nginx.Request("GET", "/wp-login.php");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Parsed(unknown)["error"]["code"], "not_found") << unknown.body;
  auto metrics = nginx.Request("GET", "/metrics");  // from loopback: passed to the node
  EXPECT_EQ(metrics.status, 401) << metrics.body;

  // Behind TLS the workbench's session cookie is Secure and __Host- prefixed, so that no other
  // host under the same domain can plant one; the plain-HTTP name is not taken there.
  auto in = nginx.Request("POST", "/api/v1/session", json{{"token", admin}}.dump());
  ASSERT_EQ(in.status, 200) << in.body;
  EXPECT_EQ(in.set_cookie.rfind("__Host-lapor_session=", 0), 0u) << in.set_cookie;
  EXPECT_NE(in.set_cookie.find("; Secure"), std::string::npos) << in.set_cookie;
  EXPECT_NE(in.set_cookie.find("; Path=/"), std::string::npos) << in.set_cookie;
  const std::string cookie = in.set_cookie.substr(0, in.set_cookie.find(';'));
  const std::string session_id = cookie.substr(cookie.find('=') + 1);
  // Browsers may send cookies over HTTP/2 as several fields; they reach the node as one.
  auto current = nginx.Request("GET", "/api/v1/session", "", {"Cookie: a=b", "Cookie: " + cookie});
  EXPECT_EQ(current.status, 200) << current.body;
  EXPECT_EQ(Parsed(current)["operator"]["role"], "admin");
  EXPECT_EQ(
      nginx.Request("GET", "/api/v1/session", "", {"Cookie: lapor_session=" + session_id}).status,
      401);

  auto plain = nginx.Request("GET", "/healthz", "", {}, /*tls=*/false);
  EXPECT_EQ(plain.status, 308);
  EXPECT_EQ(plain.location.rfind("https://", 0), 0u) << plain.location;

  ASSERT_EQ(node.Stop(), 0);
  auto down = nginx.Request("GET", "/healthz");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(Parsed(down)["error"]["code"], "unavailable") << down.body;
  node.Start();  // on the same port: nginx reaches it again
  EXPECT_TRUE(Eventually("the node answers through nginx again",
                         [&] { return nginx.Request("GET", "/healthz").status == 200; }));
}

TEST(NginxTest, MembersDeliverOverHttpsOnlyToACertificateTheyTrust) {
  Federation f(FederationOptions{{"32", "33"}});
  NodeProcess& sender = f.node("32");
  sender.SetConfig("retry_initial_ms", 50);
  sender.SetConfig("retry_max_ms", 300);
  sender.SetConfig("relay_after_ms", 0);  // never through the hub: only the direct path counts
  Nginx nginx(f.port("33"));
  sender.SetConfig("peer_urls", {{"33", nginx.url()}});
  ASSERT_EQ(sender.Stop(), 0);
  sender.Start();

  auto file = [&] {
    auto r = sender.Post("/api/v1/complaints", [] {
      json c = Complaint();
      c["region_code"] = "33";  // owned by 33
      return c;
    }());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("tracking_id", "");
  };
  auto held_by_33 = [&](const std::string& id) {
    return !EventHashes(f.node("33"), id, f.auditor_token("33")).empty();
  };
  // 32 does not trust the self-signed certificate: nothing reaches 33, and 32 says why.
  const std::string refused = file();
  std::string why;
  ASSERT_TRUE(Eventually("32 reports the failing delivery to 33", [&] {
    const json status = sender.Get("/federation/v1/status", f.admin_token("32")).Json();
    for (const auto& d : status["destinations"]) {
      if (d["destination"] == "33" && d["last_error"].is_string()) {
        why = d["last_error"];
        return true;
      }
    }
    return false;
  }));
  EXPECT_NE(why.find("certificate"), std::string::npos) << why;
  EXPECT_FALSE(held_by_33(refused));

  // Trusting the federation's CA (here the certificate itself), 32 delivers through nginx.
  sender.SetConfig("tls_ca_file", nginx.cert());
  ASSERT_EQ(sender.Stop(), 0);
  sender.Start();
  const std::string delivered = file();
  EXPECT_TRUE(Eventually("33 holds both cases",
                         [&] { return held_by_33(refused) && held_by_33(delivered); }));
  EXPECT_NE(nginx.access_log().find("POST /federation/v1/events"), std::string::npos);

  // A CA file that is not PEM stops the node at start, naming the setting.
  std::ofstream(sender.data_dir() + "/not-a-ca.pem") << "hello";
  sender.SetConfig("tls_ca_file", "not-a-ca.pem");
  ASSERT_EQ(sender.Stop(), 0);
  EXPECT_ANY_THROW(sender.Start());
  EXPECT_NE(ReadText(sender.data_dir() + "/node.log").find("tls_ca_file"), std::string::npos);
}

}  // namespace
}  // namespace lapor::testing
