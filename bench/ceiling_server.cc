// lapor-bench-ceiling: the HTTP ceiling of this machine for the node ingest benchmark.
//
// A minimal cpprestsdk http_listener that does what the node's HTTP edge must do for a POST and
// nothing else: reads the whole body (extract_vector), answers 201 with a small JSON body and the
// same headers the node sends. Same thread pool setup as the node (initialize_with_threads before
// any listener). Whatever the node reaches below this figure is the cost of its own work.
//
//   lapor-bench-ceiling [URL] [THREADS] [MODE]
//     URL      default http://127.0.0.1:8089/
//     THREADS  cpprestsdk pool size, default 4 (node.json's http_threads default)
//     MODE     "async" (default): the body is consumed in a continuation,
//              extract_vector().then(...), so no pool thread ever waits for the network.
//              "blocking": extract_vector().get() on the pool thread, as the node's first
//              version did. cpprestsdk calls the handler from the pool thread that parsed the
//              headers, before the body is read, and reads the body on the same pool: with
//              THREADS requests in flight every pool thread waits for a body no thread is left to
//              read, and the listener deadlocks for good. Kept to show that pitfall; run.sh uses
//              async (as the node does now).
//   Serves until SIGINT/SIGTERM.
#include <signal.h>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using web::http::http_request;
using web::http::methods;

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = argc > 1 ? argv[1] : "http://127.0.0.1:8089/";
  int threads = argc > 2 ? std::atoi(argv[2]) : 4;
  std::string mode = argc > 3 ? argv[3] : "async";
  if (threads < 1 || threads > 256 || (mode != "async" && mode != "blocking")) {
    std::fprintf(stderr, "usage: %s [URL] [THREADS 1-256] [async|blocking]\n", argv[0]);
    return 2;
  }
  const bool blocking = mode == "blocking";
  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  crossplat::threadpool::initialize_with_threads(static_cast<size_t>(threads));

  std::atomic<unsigned long long> served{0};
  auto reply = [&served](const http_request& req, size_t body_size) {
    unsigned long long n = served.fetch_add(1, std::memory_order_relaxed);
    web::http::http_response resp(web::http::status_codes::Created);
    resp.set_body("{\"tracking_id\":\"32-BENCH\",\"received\":" + std::to_string(body_size) +
                      ",\"n\":" + std::to_string(n) + "}",
                  "application/json");
    resp.headers().add("Cache-Control", "no-store");
    req.reply(resp).then([](pplx::task<void> t) {
      try {
        t.get();
      } catch (...) {  // the client went away
      }
    });
  };
  web::http::experimental::listener::http_listener listener(url);
  listener.support([&reply, blocking](http_request req) {
    if (req.method() != methods::POST) {
      req.reply(web::http::status_codes::MethodNotAllowed);
      return;
    }
    if (blocking) {
      std::vector<unsigned char> body;
      try {
        body = req.extract_vector().get();
      } catch (const std::exception&) {
        req.reply(web::http::status_codes::BadRequest);
        return;
      }
      reply(req, body.size());
      return;
    }
    req.extract_vector().then([req, &reply](pplx::task<std::vector<unsigned char>> t) {
      std::vector<unsigned char> body;
      try {
        body = t.get();
      } catch (const std::exception&) {
        req.reply(web::http::status_codes::BadRequest);
        return;
      }
      reply(req, body.size());
    });
  });
  try {
    listener.open().wait();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lapor-bench-ceiling: cannot listen on %s: %s\n", url.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "lapor-bench-ceiling: serving %s with %d threads, %s body reads\n",
               url.c_str(), threads, mode.c_str());

  int sig = 0;
  sigwait(&stop, &sig);
  listener.close().wait();
  std::fprintf(stderr, "lapor-bench-ceiling: stopped after %llu requests\n",
               static_cast<unsigned long long>(served.load()));
  return 0;
}
