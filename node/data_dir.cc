#include "node/data_dir.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/encoding.h"

namespace lapor::node {
namespace {

// Writes a new file with O_EXCL (never overwrites), fsyncs it and its folder.
Status WriteNewFile(const std::string& dir, const std::string& path, const std::string& content,
                    mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST)
      return Status::AlreadyExists(path + " already exists; refusing to overwrite");
    return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  }
  ::fchmod(fd, mode);  // not subject to the umask
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Status::IOError("cannot write " + path + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return Status::IOError("cannot fsync " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Status::NotFound("cannot read " + path + " (is this a node data folder? run init)");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result<std::string> ReadHexKey(const std::string& path, size_t size) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  auto key = crypto::HexDecode(t);
  crypto::Wipe(&t);  // the hex text of a key is as secret as the key
  crypto::Wipe(&*text);
  if (!key || key->size() != size) {
    return Status::Corruption(path + " does not hold a " + std::to_string(size) + "-byte hex key");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    return Status::PermissionDenied(path + " is readable by others; chmod 600 it");
  }
  return *key;
}

}  // namespace

Status ParseListen(const std::string& listen, std::string* host, int* port, const char* field) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("expected HOST:PORT, got '" + listen + "'", field);
  }
  std::string p = listen.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(p) < 1 || std::stoi(p) > 65535) {
    return Status::InvalidArgument("port must be 1-65535 in '" + listen + "'", field);
  }
  *host = listen.substr(0, colon);
  *port = std::stoi(p);
  return Status::Ok();
}

// Creates `path` and any missing parents (parents 0755, like `mkdir -p`; the last one `mode`).
// An existing last folder is set to `mode` too: a data folder holds keys and personal data.
Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::InvalidArgument("empty folder path", "--data-dir");
  for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
    const std::string parent = path.substr(0, at);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::IOError("cannot create " + parent + ": " + std::strerror(errno));
    }
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::IOError(path + " is not a folder");
  }
  if (::chmod(path.c_str(), mode) != 0) {
    return Status::IOError("cannot chmod " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<crypto::SigningKey> DataDir::Init(const NodeConfig& config) {
  LAPOR_RETURN_IF_ERROR(MakeDirs(path_, 0700));
  for (const auto& p : {ConfigPath(), KeyPath(), SealingKeyPath(), DatabasePath()}) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      return Status::AlreadyExists(p + " already exists: this folder already holds a node");
    }
  }
  crypto::SigningKey key = crypto::SigningKey::Generate();
  LAPOR_RETURN_IF_ERROR(
      WriteNewFile(path_, KeyPath(), crypto::HexEncode(key.secret_key()) + "\n", 0600));
  LAPOR_RETURN_IF_ERROR(
      WriteNewFile(path_, SealingKeyPath(),
                   crypto::HexEncode(crypto::RandomBytes(crypto::kSecretboxKeySize)) + "\n", 0600));
  std::ifstream holidays(HolidaysPath());
  if (!holidays) {
    LAPOR_RETURN_IF_ERROR(WriteNewFile(
        path_, HolidaysPath(),
        "# Regional holidays, one YYYY-MM-DD per line, added to Indonesia's national holidays\n"
        "# and cuti bersama that the node knows (data/holidays/ in its source). A line\n"
        "# -YYYY-MM-DD makes a national date a working day here. Weekends are never working\n"
        "# days. The node reloads this file while it runs.\n",
        0600));
  }
  nlohmann::json j = {
      {"node_id", config.node_id},
      {"jurisdiction", config.jurisdiction},
      {"listen", config.listen},
      {"origin", config.origin},
      {"public_key", crypto::HexEncode(key.public_key())},
      {"utc_offset_minutes", config.utc_offset_minutes},
      {"sla_interval_ms", config.sla_interval_ms},
      {"http_threads", config.http_threads},
      {"max_body_bytes", config.max_body_bytes},
      {"edge", EdgeJson(config.edge)},
      {"log_requires_auditor", config.log_requires_auditor},
      {"witness_of", config.witness_of},
      {"hub_key", config.hub_key},
      {"hub_url", config.hub_url},
      {"manifest_interval_ms", config.manifest_interval_ms},
      {"retention_days", config.retention_days},
      {"retention_warn_days", config.retention_warn_days},
  };
  // The config is written last: its presence marks a complete init.
  LAPOR_RETURN_IF_ERROR(WriteNewFile(path_, ConfigPath(), j.dump(2) + "\n", 0600));
  return key;
}

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

nlohmann::json EdgeJson(const EdgeLimits& e) {
  return {{"max_connections", e.max_connections},
          {"connection_reserve", e.connection_reserve},
          {"header_timeout_ms", e.header_timeout_ms},
          {"body_timeout_ms", e.body_timeout_ms},
          {"reserve_header_timeout_ms", e.reserve_header_timeout_ms},
          {"max_header_bytes", e.max_header_bytes},
          {"filings_per_minute", e.filings_per_minute},
          {"access_per_minute", e.access_per_minute},
          {"trusted_proxies", e.trusted_proxies},
          {"session_hours", e.session_hours}};
}

Status ReadEdge(const nlohmann::json& j, EdgeLimits* e) {
  if (!j.is_object()) return Status::InvalidArgument("\"edge\" must be an object", "edge");
  static const char* kKnown[] = {
      "max_connections_per_client", "max_connections",   "connection_reserve",
      "header_timeout_ms",          "body_timeout_ms",   "max_header_bytes",
      "filings_per_minute",         "access_per_minute", "trusted_proxies",
      "reserve_header_timeout_ms",  "session_hours"};
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    if (std::find_if(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return key == k; }) == std::end(kKnown)) {
      return Status::InvalidArgument("unknown setting edge." + key, "edge." + key);
    }
  }
  auto number = [&](const char* key, int lo, int hi, int* out) -> Status {
    if (!j.contains(key)) return Status::Ok();
    const auto& v = j.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
      return Status::InvalidArgument("edge." + std::string(key) + " must be an integer from " +
                                         std::to_string(lo) + " to " + std::to_string(hi),
                                     std::string("edge.") + key);
    }
    *out = v.get<int>();
    return Status::Ok();
  };
  LAPOR_RETURN_IF_ERROR(number("max_connections", 8, 1000000, &e->max_connections));
  LAPOR_RETURN_IF_ERROR(number("connection_reserve", 1, 1000, &e->connection_reserve));
  LAPOR_RETURN_IF_ERROR(
      number("max_connections_per_client", 1, 1000000, &e->max_connections_per_client));
  LAPOR_RETURN_IF_ERROR(number("header_timeout_ms", 100, 600000, &e->header_timeout_ms));
  LAPOR_RETURN_IF_ERROR(number("body_timeout_ms", 100, 3600000, &e->body_timeout_ms));
  LAPOR_RETURN_IF_ERROR(
      number("reserve_header_timeout_ms", 100, 600000, &e->reserve_header_timeout_ms));
  int header_bytes = static_cast<int>(e->max_header_bytes);
  LAPOR_RETURN_IF_ERROR(number("max_header_bytes", 1024, 1024 * 1024, &header_bytes));
  e->max_header_bytes = static_cast<size_t>(header_bytes);
  LAPOR_RETURN_IF_ERROR(number("filings_per_minute", 0, 1000000, &e->filings_per_minute));
  LAPOR_RETURN_IF_ERROR(number("access_per_minute", 0, 1000000, &e->access_per_minute));
  LAPOR_RETURN_IF_ERROR(number("session_hours", 1, 24 * 30, &e->session_hours));
  if (e->connection_reserve >= e->max_connections) {
    return Status::InvalidArgument("edge.connection_reserve must be below edge.max_connections",
                                   "edge.connection_reserve");
  }
  if (j.contains("trusted_proxies")) {
    const auto& v = j.at("trusted_proxies");
    if (!v.is_array()) {
      return Status::InvalidArgument("edge.trusted_proxies must be a list of IP addresses",
                                     "edge.trusted_proxies");
    }
    e->trusted_proxies.clear();
    for (const auto& p : v) {
      if (!p.is_string() || !IsIpAddress(p.get<std::string>())) {
        return Status::InvalidArgument("edge.trusted_proxies must be a list of IP addresses",
                                       "edge.trusted_proxies");
      }
      e->trusted_proxies.push_back(p.get<std::string>());
    }
  }
  return Status::Ok();
}

Result<NodeConfig> DataDir::LoadConfig() const {
  auto text = ReadFile(ConfigPath());
  if (!text.ok()) return text.status();
  NodeConfig c;
  try {
    auto j = nlohmann::json::parse(*text);
    c.node_id = j.at("node_id").get<std::string>();
    c.jurisdiction = j.at("jurisdiction").get<std::string>();
    c.listen = j.at("listen").get<std::string>();
    c.origin = j.at("origin").get<std::string>();
    c.utc_offset_minutes = j.value("utc_offset_minutes", c.utc_offset_minutes);
    c.sla_interval_ms = j.value("sla_interval_ms", c.sla_interval_ms);
    c.http_threads = j.value("http_threads", c.http_threads);
    c.commit_gather_writes = j.value("commit_gather_writes", c.commit_gather_writes);
    c.commit_gather_us = j.value("commit_gather_us", c.commit_gather_us);
    c.checkpoint_interval_ms = j.value("checkpoint_interval_ms", c.checkpoint_interval_ms);
    c.wal_checkpoint_interval_ms =
        j.value("wal_checkpoint_interval_ms", c.wal_checkpoint_interval_ms);
    c.discovery_interval_ms = j.value("discovery_interval_ms", c.discovery_interval_ms);
    c.max_body_bytes = j.value("max_body_bytes", c.max_body_bytes);
    c.log_requires_auditor = j.value("log_requires_auditor", c.log_requires_auditor);
    if (j.contains("edge")) {
      Status s = ReadEdge(j.at("edge"), &c.edge);
      if (!s.ok()) return Status::Corruption(ConfigPath() + ": " + s.message());
    }
    c.witness_of = j.value("witness_of", c.witness_of);
    c.hub_key = j.value("hub_key", c.hub_key);
    c.hub_url = j.value("hub_url", c.hub_url);
    c.manifest_interval_ms = j.value("manifest_interval_ms", c.manifest_interval_ms);
    c.manifest_validity_ms = j.value("manifest_validity_ms", c.manifest_validity_ms);
    c.peer_urls = j.value("peer_urls", c.peer_urls);
    c.tls_ca_file = j.value("tls_ca_file", c.tls_ca_file);
    if (!c.tls_ca_file.empty() && c.tls_ca_file[0] != '/')
      c.tls_ca_file = path_ + "/" + c.tls_ca_file;
    c.delivery_batch = j.value("delivery_batch", c.delivery_batch);
    c.retry_initial_ms = j.value("retry_initial_ms", c.retry_initial_ms);
    c.retry_max_ms = j.value("retry_max_ms", c.retry_max_ms);
    c.relay_after_ms = j.value("relay_after_ms", c.relay_after_ms);
    c.dead_letter_after_ms = j.value("dead_letter_after_ms", c.dead_letter_after_ms);
    c.outbox_retention_days = j.value("outbox_retention_days", c.outbox_retention_days);
    c.relay_backlog_max_bytes = j.value("relay_backlog_max_bytes", c.relay_backlog_max_bytes);
    c.receive_busy_share = j.value("receive_busy_share", c.receive_busy_share);
    c.receive_batch_max_ms = j.value("receive_batch_max_ms", c.receive_batch_max_ms);
    c.receive_pace_above_bytes = j.value("receive_pace_above_bytes", c.receive_pace_above_bytes);
    c.request_timeout_ms = j.value("request_timeout_ms", c.request_timeout_ms);
    c.request_window_ms = j.value("request_window_ms", c.request_window_ms);
    c.delivery_threads = j.value("delivery_threads", c.delivery_threads);
    c.stats_interval_ms = j.value("stats_interval_ms", c.stats_interval_ms);
    c.retention_days = j.value("retention_days", c.retention_days);
    c.retention_warn_days = j.value("retention_warn_days", c.retention_warn_days);
    c.retention_interval_ms = j.value("retention_interval_ms", c.retention_interval_ms);
    if (j.contains("witnesses")) {
      for (const auto& w : j.at("witnesses")) {
        c.witnesses.emplace_back(w.at("url").get<std::string>(), w.at("vkey").get<std::string>());
      }
    }
  } catch (const std::exception& e) {
    return Status::Corruption(ConfigPath() + " is not a valid node config: " + e.what());
  }
  if (c.sla_interval_ms < 10 || c.http_threads < 1 || c.http_threads > 64 ||
      c.max_body_bytes < 1024 || c.utc_offset_minutes < -720 || c.utc_offset_minutes > 840 ||
      c.delivery_batch < 1 || c.delivery_batch > 10000 || c.retry_initial_ms < 1 ||
      c.retry_max_ms < c.retry_initial_ms || c.relay_after_ms < 0 || c.stats_interval_ms < 100 ||
      c.request_timeout_ms < 100 || c.commit_gather_writes < 0 || c.commit_gather_writes > 4096 ||
      c.commit_gather_us < 0 || c.commit_gather_us > 100000 || !(c.retention_days >= 0) ||
      c.retention_days > 36500 || !(c.retention_warn_days >= 0) || c.retention_warn_days > 3650 ||
      c.retention_interval_ms < 10 || c.manifest_validity_ms < 1000 || c.dead_letter_after_ms < 0 ||
      !(c.outbox_retention_days >= 0) || c.outbox_retention_days > 36500 ||
      c.relay_backlog_max_bytes < (1 << 20) || !(c.receive_busy_share > 0) ||
      c.receive_busy_share > 1 || c.receive_batch_max_ms < 100 || c.receive_batch_max_ms > 60000 ||
      c.receive_pace_above_bytes < 0 || c.request_window_ms < 1000 ||
      c.request_window_ms > 400LL * 86400 * 1000 || c.delivery_threads < 1 ||
      c.delivery_threads > 256 || c.checkpoint_interval_ms < 10 ||
      c.checkpoint_interval_ms > 60000 || c.wal_checkpoint_interval_ms < 10 ||
      c.wal_checkpoint_interval_ms > 60000 || c.discovery_interval_ms < 100 ||
      c.discovery_interval_ms > 600000) {
    return Status::Corruption(ConfigPath() + " has a setting out of range");
  }
  return c;
}

Result<crypto::SigningKey> DataDir::LoadSigningKey() const {
  auto secret = ReadHexKey(KeyPath(), crypto::kSecretKeySize);
  if (!secret.ok()) return secret.status();
  return crypto::SigningKey::FromSecretKey(*secret);
}

Result<crypto::SigningKey> DataDir::NextSigningKey(bool* made) const {
  *made = false;
  auto held = ReadHexKey(NextKeyPath(), crypto::kSecretKeySize);
  if (held.ok()) return crypto::SigningKey::FromSecretKey(*held);
  if (held.status().code() != Status::Code::kNotFound) return held.status();
  auto key = crypto::SigningKey::Generate();
  LAPOR_RETURN_IF_ERROR(
      WriteNewFile(path_, NextKeyPath(), crypto::HexEncode(key.secret_key()) + "\n", 0600));
  *made = true;
  return key;
}

Result<std::optional<crypto::SigningKey>> DataDir::HeldNextKey() const {
  auto held = ReadHexKey(NextKeyPath(), crypto::kSecretKeySize);
  if (!held.ok()) {
    if (held.status().code() == Status::Code::kNotFound) return std::optional<crypto::SigningKey>();
    return held.status();
  }
  auto key = crypto::SigningKey::FromSecretKey(*held);
  if (!key.ok()) return key.status();
  return std::optional<crypto::SigningKey>(std::move(*key));
}

Result<std::vector<crypto::SigningKey>> DataDir::RetiredSigningKeys() const {
  std::vector<std::string> names;
  DIR* d = ::opendir(path_.c_str());
  if (d == nullptr) return Status::IOError("cannot list " + path_ + ": " + std::strerror(errno));
  while (const dirent* e = ::readdir(d)) {
    if (IsRetiredKeyName(e->d_name)) names.push_back(e->d_name);
  }
  ::closedir(d);
  // Newest first: by the time in the name (same length digits compare as numbers).
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a > b;
  });
  std::vector<crypto::SigningKey> keys;
  for (const auto& name : names) {
    auto secret = ReadHexKey(path_ + "/" + name, crypto::kSecretKeySize);
    if (!secret.ok()) return secret.status();
    auto key = crypto::SigningKey::FromSecretKey(*secret);
    if (!key.ok()) return key.status();
    keys.push_back(std::move(*key));
  }
  return keys;
}

Result<std::string> DataDir::ActivateNextKey(int64_t now_ms) const {
  auto sync_dir = [this]() -> Status {
    int dfd = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) {
      if (dfd >= 0) ::close(dfd);
      return Status::IOError("cannot fsync " + path_ + ": " + std::strerror(errno));
    }
    ::close(dfd);
    return Status::Ok();
  };
  const std::string retired = path_ + "/node.key.retired-" + std::to_string(now_ms);
  if (::link(KeyPath().c_str(), retired.c_str()) != 0) {
    return Status::IOError("cannot keep " + KeyPath() + " as " + retired + ": " +
                           std::strerror(errno));
  }
  LAPOR_RETURN_IF_ERROR(sync_dir());
  if (::rename(NextKeyPath().c_str(), KeyPath().c_str()) != 0) {
    return Status::IOError("cannot move " + NextKeyPath() + " to " + KeyPath() + ": " +
                           std::strerror(errno));
  }
  LAPOR_RETURN_IF_ERROR(sync_dir());
  return retired;
}

Result<std::string> DataDir::LoadSealingKey() const {
  return ReadHexKey(SealingKeyPath(), crypto::kSecretboxKeySize);
}

Result<int> LockDataDir(const std::string& dir) {
  const std::string path = dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd);
    return Status::Conflict("another lapor-node (pid " + (holder.empty() ? "?" : holder) +
                            ") is running on " + dir + "; stop it first");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    spdlog::warn("cannot write the pid to {}", path);
  }
  return fd;
}

}  // namespace lapor::node
