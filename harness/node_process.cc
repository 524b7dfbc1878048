#include "harness/node_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "harness/eventually.h"

namespace lapor::testing {

nlohmann::json HttpResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

HttpResponse SendRaw(int port, const std::string& raw) {
  HttpResponse resp;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return resp;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return resp;
  }
  size_t off = 0;
  while (off < raw.size()) {
    ssize_t n = ::send(fd, raw.data() + off, raw.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) before reading everything
    off += static_cast<size_t>(n);
  }
  std::string in;
  char buf[16384];
  size_t header_end = std::string::npos;
  size_t want = std::string::npos;
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = in.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string head = in.substr(0, header_end);
        for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto cl = head.find("content-length:");
        if (cl != std::string::npos) want = header_end + 4 + std::stoul(head.substr(cl + 15));
      }
    }
    if (want != std::string::npos && in.size() >= want) break;
  }
  ::close(fd);
  // A response cut short (the server died mid-write) is no response: nothing was acknowledged.
  if (header_end == std::string::npos || (want != std::string::npos && in.size() < want)) {
    return resp;
  }
  std::istringstream head(in.substr(0, header_end));
  std::string line;
  std::getline(head, line);
  if (line.size() < 12) return resp;
  resp.status = std::atoi(line.substr(9, 3).c_str());
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(value.begin());
    resp.headers[name] = value;
  }
  resp.body = in.substr(header_end + 4);
  return resp;
}

HttpResponse Http(int port, const std::string& method, const std::string& path,
                  const std::string& body, const std::map<std::string, std::string>& headers) {
  std::string raw = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) raw += k + ": " + v + "\r\n";
  if ((!body.empty() || method == "POST") && !headers.count("Transfer-Encoding")) {
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n" + body;
  return SendRaw(port, raw);
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  CommandResult r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) r.output.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

namespace {

// The folders MakeTempDir made, removed when the test process exits (a full suite would
// otherwise leave gigabytes in /tmp on every run). LAPOR_KEEP_TEST_DIRS=1 keeps them to look at.
class TempDirs {
 public:
  ~TempDirs() {
    if (const char* keep = std::getenv("LAPOR_KEEP_TEST_DIRS"); keep && *keep == '1') return;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& dir : dirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
  void Add(std::string dir) {
    std::lock_guard<std::mutex> lock(mu_);
    dirs_.push_back(std::move(dir));
  }

 private:
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

TempDirs& MadeDirs() {
  static TempDirs dirs;
  return dirs;
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
  MadeDirs().Add(tmpl);
  return tmpl;
}

NodeProcess::NodeProcess(std::string data_dir) : data_dir_(std::move(data_dir)) {}

NodeProcess::~NodeProcess() {
  if (pid_ > 0) Kill9();
}

std::string NodeProcess::Binary() {
  const char* bin = std::getenv("LAPOR_NODE_BIN");
  return bin != nullptr ? bin : LAPOR_NODE_BIN_DEFAULT;
}

CommandResult NodeProcess::Cli(std::vector<std::string> args) const {
  args.insert(args.begin(), Binary());
  return RunCommand(args);
}

void NodeProcess::Init(const std::string& jurisdiction) {
  auto r = Cli({"init", "--data-dir", data_dir_, "--jurisdiction", jurisdiction});
  if (r.exit_code != 0) throw std::runtime_error("init failed: " + r.output);
  SetTestDefaults();
}

void NodeProcess::SetTestDefaults() {
  auto j = Config();
  // Tests run the SLA loop often so that escalations show up quickly.
  j["sla_interval_ms"] = 200;
  // Tests file and read from one loopback address far faster than any citizen: the per-client
  // rate limits are off unless a test sets them (the edge tests do).
  j["edge"]["filings_per_minute"] = 0;
  j["edge"]["access_per_minute"] = 0;
  std::ofstream out(data_dir_ + "/node.json", std::ios::trunc);
  out << j.dump(2) << "\n";
  if (!out.flush()) throw std::runtime_error("cannot write " + data_dir_ + "/node.json");
}

std::string NodeProcess::AddOperator(const std::string& name, const std::string& role,
                                     const std::string& agency) {
  std::vector<std::string> args = {"operator", "add", "--data-dir", data_dir_,
                                   "--name",   name,  "--role",     role};
  if (!agency.empty()) {
    args.push_back("--agency");
    args.push_back(agency);
  }
  auto r = Cli(args);
  if (r.exit_code != 0) throw std::runtime_error("operator add failed: " + r.output);
  auto pos = r.output.find("lpt_");
  if (pos == std::string::npos) throw std::runtime_error("no token in: " + r.output);
  return r.output.substr(pos, r.output.find('\n', pos) - pos);
}

std::string NodeProcess::PublicKeyHex() const {
  std::ifstream in(data_dir_ + "/node.json");
  return nlohmann::json::parse(in).at("public_key").get<std::string>();
}

nlohmann::json NodeProcess::Config() const {
  std::ifstream in(data_dir_ + "/node.json");
  if (!in) throw std::runtime_error("no " + data_dir_ + "/node.json");
  return nlohmann::json::parse(in);
}

void NodeProcess::SetConfig(const std::string& key, const nlohmann::json& value) {
  auto j = Config();
  j[key] = value;
  std::ofstream out(data_dir_ + "/node.json", std::ios::trunc);
  out << j.dump(2) << "\n";
  if (!out.flush()) throw std::runtime_error("cannot write " + data_dir_ + "/node.json");
}

void NodeProcess::Start() {
  if (pid_ > 0) throw std::runtime_error("already running");
  port_ = fixed_port_ > 0 ? fixed_port_ : FreePort();
  std::string log = data_dir_ + "/node.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    for (const auto& [name, value] : env_) {
      if (value.empty()) {
        ::unsetenv(name.c_str());
      } else {
        ::setenv(name.c_str(), value.c_str(), 1);
      }
    }
    std::string bin = Binary();
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    ::execl(bin.c_str(), bin.c_str(), "run", "--data-dir", data_dir_.c_str(), "--listen",
            listen.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool exited = false;
  auto ready = Eventually(
      "lapor-node answers GET /healthz on port " + std::to_string(port_),
      [&] {
        if (Http(port_, "GET", "/healthz").status == 200) return true;
        exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
        return exited;  // no use waiting any longer
      },
      std::chrono::seconds(20));
  if (exited) {
    pid_ = -1;
    throw std::runtime_error("lapor-node exited during start; see " + log);
  }
  if (!ready) {
    Kill9();
    throw std::runtime_error(std::string(ready.message()) + "; see " + log);
  }
}

void NodeProcess::Kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int NodeProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFSIGNALED(status)) return -100 - WTERMSIG(status);  // e.g. -111: SIGSEGV
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

HttpResponse NodeProcess::Get(const std::string& path, const std::string& token) const {
  std::map<std::string, std::string> h;
  if (!token.empty()) h["Authorization"] = "Bearer " + token;
  return Http(port_, "GET", path, "", h);
}

HttpResponse NodeProcess::Post(const std::string& path, const nlohmann::json& body,
                               const std::string& token) const {
  std::map<std::string, std::string> h = {{"Content-Type", "application/json"}};
  if (!token.empty()) h["Authorization"] = "Bearer " + token;
  return Http(port_, "POST", path, body.dump(), h);
}

}  // namespace lapor::testing
