#include "node/page_router.h"

#include "crypto/crypto.h"
#include "crypto/encoding.h"

namespace lapor::node {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Whether an If-None-Match header names `etag` (a list, or "*").
bool Matches(const std::string& if_none_match, const std::string& etag) {
  size_t pos = 0;
  while (pos <= if_none_match.size()) {
    size_t end = if_none_match.find(',', pos);
    if (end == std::string::npos) end = if_none_match.size();
    std::string_view tag(if_none_match.data() + pos, end - pos);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

std::string MediaTypeOf(std::string_view name) {
  if (EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (EndsWith(name, ".css")) return "text/css; charset=utf-8";
  if (EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (EndsWith(name, ".csv")) return "text/csv; charset=utf-8";
  if (EndsWith(name, ".json")) return "application/json";
  if (EndsWith(name, ".svg")) return "image/svg+xml";
  if (EndsWith(name, ".png")) return "image/png";
  if (EndsWith(name, ".ico")) return "image/x-icon";
  return "application/octet-stream";
}

PageRouter::PageRouter() {
  for (size_t i = 0; i < kWebAssetCount; ++i) {
    const WebAsset& a = kWebAssets[i];
    std::string path;
    if (a.name == "index.html") {
      path = "/";
    } else if (EndsWith(a.name, ".html") && a.name.find('/') == std::string_view::npos) {
      path = "/" + std::string(a.name.substr(0, a.name.size() - 5));  // "/lapor"
    } else {
      path = "/" + std::string(a.name);  // "/assets/app.css"
    }
    Served s;
    s.body = a.body;
    s.content_type = MediaTypeOf(a.name);
    // The names carry no version: a browser asks again each time and gets 304 while the file
    // is the same, so an upgraded node never mixes an old script with a new page.
    s.cache_control = "no-cache";
    s.etag = "\"" + crypto::HexEncode(crypto::Sha256(a.body)).substr(0, 32) + "\"";
    by_path_.emplace(std::move(path), std::move(s));
  }
}

const PageRouter::Served* PageRouter::Find(const Request& req) const {
  // The path as sent, without its query (the pages read nothing from the URL): page and asset
  // names need no percent-encoding.
  auto it = by_path_.find(req.path.empty() ? std::string("/") : req.path);
  // A page's name with a slash after it ("/dashboard/") is the page.
  if (it == by_path_.end() && req.path.size() > 1 && req.path.back() == '/') {
    it = by_path_.find(req.path.substr(0, req.path.size() - 1));
    if (it != by_path_.end() && it->second.content_type.rfind("text/html", 0) != 0) return nullptr;
  }
  return it == by_path_.end() ? nullptr : &it->second;
}

bool PageRouter::Handle(const Request& req, const Reply& reply) {
  const Served* s = Find(req);
  if (s == nullptr) return false;
  if (req.method != "GET" && req.method != "HEAD") {
    return Fail(reply, Status::MethodNotAllowed("use GET"));
  }
  Response r;
  r.content_type = s->content_type;
  r.cache_control = s->cache_control;
  r.headers = {{"ETag", s->etag},
               {"Content-Security-Policy", std::string(kPageCsp)},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"X-Frame-Options", "DENY"}};
  auto inm = req.Header("If-None-Match");
  if (inm && Matches(*inm, s->etag)) {
    r.status = 304;
  } else {
    r.status = 200;
    r.body = std::string(s->body);
  }
  reply(std::move(r));
  return true;
}

}  // namespace lapor::node
