// The one integration-test harness: launches the real lapor-node binary with its own temp data
// folder on a free loopback port, waits until it answers, kills it (-9) or stops it (TERM),
// restarts it, runs its other commands, and speaks raw HTTP/1.1 to it.
#pragma once

#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lapor::testing {

struct HttpResponse {
  int status = 0;                              // 0 if the connection failed
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json Json() const;  // null if the body is not JSON
};

// Sends `raw` (a complete HTTP request) to 127.0.0.1:port and reads the response.
HttpResponse SendRaw(int port, const std::string& raw);
HttpResponse Http(int port, const std::string& method, const std::string& path,
                  const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {});

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
// Runs a command (argv[0] is the program) and captures its output.
CommandResult RunCommand(const std::vector<std::string>& argv);

int FreePort();
std::string MakeTempDir(const std::string& prefix);

class NodeProcess {
 public:
  // `data_dir` is created by Init(). The binary comes from LAPOR_NODE_BIN (set by CMake).
  explicit NodeProcess(std::string data_dir);
  ~NodeProcess();  // kills the node if running

  static std::string Binary();
  CommandResult Cli(std::vector<std::string> args) const;  // lapor-node <args...>

  void Init(const std::string& jurisdiction = "32");
  // What Init sets after `lapor-node init` (for a folder initialised otherwise): a fast SLA loop
  // and the per-client rate limits off.
  void SetTestDefaults();
  // Adds an operator and returns its token.
  std::string AddOperator(const std::string& name, const std::string& role,
                          const std::string& agency = "");
  // Starts `lapor-node run` on a free port (or the one given to SetPort) and waits (up to 20 s)
  // until /healthz answers.
  void Start();
  // An environment variable for every later Start() (an empty value unsets it).
  void SetEnv(const std::string& name, const std::string& value) { env_[name] = value; }
  // A fixed port for every later Start() (restarts included); 0 = a fresh free port each time.
  void SetPort(int port) { fixed_port_ = port; }
  // node.json: sets one top-level key (read by the node at its next start), or reads it whole.
  void SetConfig(const std::string& key, const nlohmann::json& value);
  nlohmann::json Config() const;
  void Kill9();
  // SIGTERM and wait; returns the exit status, or -100 - signal if a signal ended it.
  int Stop();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string PublicKeyHex() const;  // from node.json
  CommandResult Fsck() const { return Cli({"fsck", "--data-dir", data_dir_}); }

  HttpResponse Get(const std::string& path, const std::string& token = "") const;
  HttpResponse Post(const std::string& path, const nlohmann::json& body,
                    const std::string& token = "") const;

 private:
  std::string data_dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int fixed_port_ = 0;
  std::map<std::string, std::string> env_;
};

}  // namespace lapor::testing
