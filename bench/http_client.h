// What the benchmark drivers share: an HTTP client (blocking HTTP/1.1 on one keep-alive connection
// to a loopback port; the harness's Http() closes every connection, which would leave tens of
// thousands of sockets in TIME_WAIT), the nearest-rank percentile the reports use, the clocks,
// and a process's CPU time from /proc.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace lapor::bench {

class KeepAlive {
 public:
  // `timeout_s`: how long a reply may take before the connection is given up.
  explicit KeepAlive(int port, int timeout_s = 30) : port_(port), timeout_s_(timeout_s) {}
  ~KeepAlive() { Close(); }
  KeepAlive(const KeepAlive&) = delete;
  KeepAlive& operator=(const KeepAlive&) = delete;

  int port() const { return port_; }

  // Sends one request; `headers` are extra header lines, each ending in "\r\n". Returns the
  // status (0 if the connection failed or the reply was unreadable); the body goes to `reply`.
  int Send(const std::string& method, const std::string& path, const std::string& headers,
           const std::string& body, std::string* reply) {
    if (fd_ < 0 && !Connect()) return 0;
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers;
    if (!body.empty() || method == "POST") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n";
    req += body;
    for (size_t off = 0; off < req.size();) {
      ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return Fail();
      off += static_cast<size_t>(n);
    }
    size_t header_end;
    while ((header_end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!Read()) return Fail();
    }
    std::string head = in_.substr(0, header_end);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head.size() < 12 || head.find("transfer-encoding: chunked") != std::string::npos) {
      return Fail();
    }
    const int status = std::atoi(head.substr(9, 3).c_str());
    size_t length = 0;
    if (auto cl = head.find("content-length:"); cl != std::string::npos) {
      length = std::stoul(head.substr(cl + 15));
    }
    while (in_.size() < header_end + 4 + length) {
      if (!Read()) return Fail();
    }
    if (reply != nullptr) *reply = in_.substr(header_end + 4, length);
    in_.erase(0, header_end + 4 + length);
    if (head.find("connection: close") != std::string::npos) Close();
    return status;
  }
  int Post(const std::string& path, const std::string& body, std::string* reply) {
    return Send("POST", path, "", body, reply);
  }

 private:
  bool Connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{timeout_s_, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Close();
      return false;
    }
    return true;
  }
  bool Read() {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int Fail() {
    Close();
    return 0;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    in_.clear();
  }
  int port_;
  int timeout_s_;
  int fd_ = -1;
  std::string in_;
};

// Nearest-rank percentile of sorted values.
template <typename T>
T Pct(const std::vector<T>& sorted, double p) {
  if (sorted.empty()) return T{};
  size_t k = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, k == 0 ? 0 : k - 1)];
}

// Wall-clock milliseconds since the epoch, and steady seconds (for durations).
inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline double SteadyS() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// User + system CPU ticks of a process, from its /proc/<pid>/stat (0 if unreadable).
inline long long ProcTicks(const std::string& stat_path) {
  FILE* fp = std::fopen(stat_path.c_str(), "r");
  if (fp == nullptr) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, fp);
  std::fclose(fp);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return 0;
  long long utime = 0, stime = 0;
  // after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime, &stime);
  return utime + stime;
}

}  // namespace lapor::bench
