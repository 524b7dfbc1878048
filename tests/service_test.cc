// The node as a systemd service (deploy/debian/lapor-node@.service, Type=notify): the real binary,
// given a NOTIFY_SOCKET as systemd gives it, says READY=1 once it serves, pings the watchdog
// (WATCHDOG=1) while it is alive, and says STOPPING=1 when asked to stop. Without NOTIFY_SOCKET
// it runs as before (every other test). deploy/package-test.sh checks the unit itself with
// systemd-analyze once the package is installed.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "harness/node_process.h"

namespace lapor::testing {
namespace {

// A datagram socket where the node sends its notifications, as systemd's is.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  // Waits up to `timeout` for a message containing `what`; every message read is kept.
  bool WaitFor(const std::string& what, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (const auto& m : messages) {
      if (m.find(what) != std::string::npos) return true;
    }
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      messages.emplace_back(buf, static_cast<size_t>(n));
      if (messages.back().find(what) != std::string::npos) return true;
    }
  }
  std::vector<std::string> messages;

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& m : v) out += "[" + m + "] ";
  return out;
}

TEST(ServiceTest, TellsSystemdWhenItServesIsAliveAndStops) {
  const std::string dir = MakeTempDir("lapor-service");
  NotifySocket notify(dir + "/notify");
  ASSERT_TRUE(notify.bound()) << std::strerror(errno);
  NodeProcess node(dir + "/node");
  node.Init("32");
  node.SetEnv("NOTIFY_SOCKET", dir + "/notify");
  node.SetEnv("WATCHDOG_USEC", "2000000");  // systemd's WatchdogSec=2
  node.Start();
  ASSERT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(10))) << Joined(notify.messages);
  // The READY message says where it serves.
  bool status = false;
  for (const auto& m : notify.messages) {
    if (m.find("READY=1") != std::string::npos) {
      status = m.find("STATUS=serving http://127.0.0.1:" + std::to_string(node.port())) !=
               std::string::npos;
    }
  }
  EXPECT_TRUE(status) << Joined(notify.messages);
  notify.messages.clear();
  EXPECT_TRUE(notify.WaitFor("WATCHDOG=1", std::chrono::seconds(3))) << Joined(notify.messages);
  EXPECT_EQ(node.Stop(), 0);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", std::chrono::seconds(1))) << Joined(notify.messages);
}

}  // namespace
}  // namespace lapor::testing
