// Sends the node's new checkpoints to its witnesses (C2SP tlog-witness add-checkpoint) with
// consistency proofs from the size each witness last cosigned, and adds their cosignatures to
// the served checkpoint. Runs on its own thread; the node works without it (unreachable witnesses
// only mean checkpoints without their cosignature).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/tree_log.h"

namespace lapor::federation {

struct WitnessEndpoint {
  std::string url;   // base URL; requests go to <url>/witness/add-checkpoint
  std::string vkey;  // the witness's cosigner key (type 0x04): replies are verified with it
};

class WitnessClient {
 public:
  WitnessClient(storage::TreeLog* log, std::vector<WitnessEndpoint> witnesses);
  ~WitnessClient();  // stops the thread
  void Start();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lapor::federation
