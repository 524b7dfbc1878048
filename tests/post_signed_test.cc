// federation::PostSigned against a one-connection HTTP server that answers as a test decides: a
// reply is accepted only when signed by the destination's key for this very request, and a reply
// larger than kMaxReplyBytes is refused without reading it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <string>
#include <thread>

#include "crypto/encoding.h"
#include "federation/replicator.h"
#include "federation/request_auth.h"
#include "protocol/directory.h"
#include "protocol/manifest.h"

namespace lapor::federation {
namespace {

// Accepts one connection on 127.0.0.1, reads one request (headers and Content-Length body) and
// writes what `answer` returns for the request's headers and body.
class OneShotServer {
 public:
  using Answer =
      std::function<std::string(const std::map<std::string, std::string>&, const std::string&)>;

  explicit OneShotServer(Answer answer) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, answer = std::move(answer)] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      size_t head_end = std::string::npos;
      size_t want = 0;
      for (;;) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        if (head_end == std::string::npos &&
            (head_end = in.find("\r\n\r\n")) != std::string::npos) {
          ParseHeaders(in.substr(0, head_end));
          want = head_end + 4 + std::stoul(headers_["content-length"]);
        }
        if (head_end != std::string::npos && in.size() >= want) break;
      }
      const std::string out = answer(headers_, in.substr(head_end + 4));
      for (size_t at = 0; at < out.size();) {
        ssize_t n = ::write(c, out.data() + at, out.size() - at);
        if (n <= 0) break;
        at += static_cast<size_t>(n);
      }
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void ParseHeaders(const std::string& head) {
    size_t at = head.find("\r\n");
    while (at != std::string::npos && at + 2 < head.size()) {
      size_t end = head.find("\r\n", at + 2);
      std::string line = head.substr(at + 2, end == std::string::npos ? end : end - at - 2);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      headers_[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      at = end;
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::map<std::string, std::string> headers_;
};

std::string Http200(const std::string& body,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  return out + "\r\n" + body;
}

class PostSignedTest : public ::testing::Test {
 protected:
  PostSignedTest() : self_(crypto::SigningKey::Generate()), peer_(crypto::SigningKey::Generate()) {
    v1::Manifest m;
    const int64_t since = Clock::Real()->NowMs() - 3600 * 1000;
    EXPECT_TRUE(protocol::AddMember(&m, "32", "http://unused", self_.public_key(), since).ok());
    EXPECT_TRUE(protocol::AddMember(&m, "33", "http://unused", peer_.public_key(), since).ok());
    directory_.Set(std::make_shared<const v1::Manifest>(m));
    opt_.node_id = "32";
    opt_.key = std::make_shared<crypto::SigningKey>(self_);
    opt_.directory = &directory_;
  }

  Result<std::string> Post(OneShotServer& server) {
    opt_.peer_urls["33"] = server.url();
    return PostSigned(opt_, "33", "/federation/v1/rewind", "request-body", 5000);
  }

  // A reply signed by `key` as `responder` for the request whose headers are `h`.
  static std::string Signed(const crypto::SigningKey& key, const std::string& responder,
                            const std::string& nonce, const std::string& body) {
    return Http200(
        body,
        {{std::string(kHeaderNode), responder},
         {std::string(kHeaderSignature),
          crypto::Base64Encode(key.Sign(ResponseSigningString(responder, "32", nonce, body)))}});
  }

  crypto::SigningKey self_, peer_;
  protocol::Directory directory_;
  ReplicatorOptions opt_;
};

TEST_F(PostSignedTest, AcceptsAReplySignedByTheDestinationForThisRequest) {
  std::string signed_for;
  OneShotServer server([&](const auto& h, const std::string& body) {
    EXPECT_EQ(body, "request-body");
    signed_for = h.at("x-lapor-nonce");
    return Signed(peer_, "33", signed_for, "reply");
  });
  auto r = Post(server);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "reply");
  EXPECT_EQ(signed_for.size(), 32u);
}

TEST_F(PostSignedTest, RefusesAnUnsignedReply) {
  OneShotServer server([](const auto&, const std::string&) { return Http200("reply", {}); });
  auto r = Post(server);
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied) << r.status().ToString();
}

TEST_F(PostSignedTest, RefusesAReplySignedForAnotherRequest) {
  OneShotServer server([&](const auto&, const std::string&) {
    return Signed(peer_, "33", std::string(32, 'a'), "reply");  // an old reply, replayed
  });
  auto r = Post(server);
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied) << r.status().ToString();
}

TEST_F(PostSignedTest, RefusesAReplySignedByAnotherKey) {
  auto stranger = crypto::SigningKey::Generate();
  OneShotServer server([&](const auto& h, const std::string&) {
    return Signed(stranger, "33", h.at("x-lapor-nonce"), "reply");
  });
  auto r = Post(server);
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied) << r.status().ToString();
}

TEST_F(PostSignedTest, RefusesAReplyOverTheCapWithoutReadingIt) {
  OneShotServer server([](const auto&, const std::string&) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: " +
           std::to_string(kMaxReplyBytes + 1) + "\r\nConnection: close\r\n\r\nshort";
  });
  auto r = Post(server);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exceeds"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace lapor::federation
