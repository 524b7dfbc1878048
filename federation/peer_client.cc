#include "federation/peer_client.h"

// clang-format off
#include <utility>
#include <boost/asio/ssl.hpp>
// clang-format on
#include <cpprest/http_client.h>

#include <fstream>
#include <memory>

#include "base/mutex.h"

namespace lapor::federation {
namespace {

Mutex ca_mu;
std::string ca_file LAPOR_GUARDED_BY(ca_mu);

std::string CaFile() {
  MutexLock lock(ca_mu);
  return ca_file;
}

}  // namespace

Status SetPeerCaFile(const std::string& pem_file) {
  if (!pem_file.empty()) {
    // Load it once now, so a bad file stops the node at start rather than failing every delivery.
    boost::asio::ssl::context probe(boost::asio::ssl::context::tls_client);
    boost::system::error_code ec;
    probe.load_verify_file(pem_file, ec);
    if (ec) {
      return Status::InvalidArgument(
          "tls_ca_file " + pem_file + " cannot be read as PEM certificates: " + ec.message(),
          "tls_ca_file");
    }
  }
  MutexLock lock(ca_mu);
  ca_file = pem_file;
  return Status::Ok();
}

web::http::client::http_client_config PeerClientConfig(std::chrono::milliseconds timeout) {
  web::http::client::http_client_config cfg;
  cfg.set_timeout(timeout);
  cfg.set_validate_certificates(true);
  if (std::string ca = CaFile(); !ca.empty()) {
    cfg.set_ssl_context_callback([ca](boost::asio::ssl::context& ctx) {
      // Only the federation's CA: not the system's.
      SSL_CTX_set_cert_store(ctx.native_handle(), X509_STORE_new());
      boost::system::error_code ec;
      ctx.load_verify_file(ca, ec);
    });
  }
  return cfg;
}

}  // namespace lapor::federation
