// How this node's HTTP client (cpprestsdk) reaches other nodes, the hub's manifest and witnesses:
// one client configuration for every request. Over https the peer's certificate chain and host
// name (or IP address) are checked: against the system's CAs, or, when node.json sets tls_ca_file
// (a private CA for the federation), against that file only.
#pragma once

#include <chrono>
#include <string>

#include "base/status.h"

namespace web::http::client {
class http_client_config;
}

namespace lapor::federation {

// Sets the CA file every later request checks https peers against ("" for the system's CAs).
// InvalidArgument naming tls_ca_file if the file cannot be read as PEM certificates. Call once at
// start, before any request.
Status SetPeerCaFile(const std::string& pem_file);

// A client configuration with `timeout` and the certificate checks above.
web::http::client::http_client_config PeerClientConfig(std::chrono::milliseconds timeout);

}  // namespace lapor::federation
