// A fault-injecting TCP proxy for integration tests: put it between two nodes (or a client and a
// node) and make the link slow, silent, down, cut mid-message or duplicating, without touching
// either side. Byte-level only: it knows nothing of HTTP.
//
// Threading: one io thread (Boost.Asio) owns every socket; the public methods may be called from
// any thread. Nothing on the io thread blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace lapor::testing {

enum class Fault {
  kNone,         // forward bytes both ways unchanged
  kDelay,        // forward, but hold every chunk for delay_ms before writing it on
  kDrop,         // accept, read and discard everything, never answer, never connect upstream
  kRefuse,       // close every new connection at once (reset), like a node that is down
  kCutRequest,   // forward the first cut_after_bytes bytes of the client's stream, then close both
  kCutResponse,  // forward the request whole, close both after cut_after_bytes response bytes
  kDuplicate,    // forward normally and replay the client's bytes on a second upstream connection
};

struct FaultConfig {
  Fault fault = Fault::kNone;
  int delay_ms = 0;
  size_t cut_after_bytes = 0;
};

// Which config a connection obeys:
// - The fault of the config current at accept time decides what the connection is, for its whole
//   life: refused, dropped, cut, duplicated, or forwarding (kNone/kDelay).
// - Forwarding connections also read the current config for every chunk, so Set() acts on live
//   (keep-alive) connections: kDelay holds each later chunk for the current delay_ms, kNone
//   forwards at once, and kDrop turns the connection into a black hole for good (both directions
//   discarded, an upstream close is not passed on; the client sees a timeout). Any other fault set
//   later leaves live forwarding connections forwarding.
// - Cut and duplicate connections keep the cut_after_bytes of their accept time.
//
// Close semantics: an EOF from one side is passed on as a half-close (shutdown of the write side)
// once everything read before it has been written; the connection closes when both sides have
// sent EOF. Any error on either side closes both. A peer whose unread data is in the proxy's
// receive buffer at a close sees a reset rather than an EOF (the kernel's choice), so tests of cuts
// must accept either.
//
// kDuplicate: the replay starts once the first response chunk has been written to the client, or
// when the client's side ends (EOF, reset, or a close by the proxy), whichever comes first. It
// sends every byte the client sent so far on a fresh upstream connection, then keeps copying the
// client's later bytes onto it (a lagging tee), half-closes it when the client's side ends, and
// reads and discards whatever upstream answers until upstream closes.
class FaultProxy {
 public:
  // Listens on 127.0.0.1:listen_port (0 = pick a free port) and forwards to
  // 127.0.0.1:upstream_port. Throws std::runtime_error if it cannot listen.
  explicit FaultProxy(int upstream_port, int listen_port = 0);
  ~FaultProxy();  // stops the io thread and closes every socket, live connections included
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const;
  // Thread-safe. See the class comment for what applies to live connections.
  void Set(FaultConfig cfg);
  FaultConfig config() const;
  // Thread-safe; used by connections accepted after the call (a restarted node gets a new port).
  void SetUpstream(int upstream_port);

  uint64_t connections() const;  // connections accepted so far, refused ones included
  uint64_t bytes_up() const;     // bytes written to upstream, duplicate replays included
  uint64_t bytes_down() const;   // bytes written to clients

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lapor::testing
