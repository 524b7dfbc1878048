// Sends the node's new checkpoints to its witnesses (C2SP tlog-witness add-checkpoint) with
// consistency proofs from the size each witness last cosigned, and adds their cosignatures to
// the served checkpoint. Runs on its own thread; the node works without it (unreachable witnesses
// only mean checkpoints without their cosignature).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/tree_log.h"

namespace lapor::federation {

struct WitnessEndpoint {
  std::string url;   // base URL; requests go to <url>/witness/add-checkpoint
  std::string vkey;  // the witness's cosigner key (type 0x04): replies are verified with it
};

// What a round of submissions learned: the largest size of this log any witness holds (it has
// cosigned a checkpoint of that size), which witness, and how many answered at all.
struct WitnessProbe {
  uint64_t highest_known = 0;
  std::string highest_url;
  int answered = 0;
};

class WitnessClient {
 public:
  // `on_ahead(size, url)`, if set, is called (on the client's thread) whenever a witness holds a
  // size of this log beyond the node's own checkpoint: the node has lost events it signed (a
  // restore from an old backup), or another process signs with its key.
  WitnessClient(storage::TreeLog* log, std::vector<WitnessEndpoint> witnesses,
                std::function<void(uint64_t, const std::string&)> on_ahead = {});
  ~WitnessClient();  // stops the thread
  void Start();
  // Submits the log's new checkpoint soon (the node's log loop calls it after each checkpoint);
  // without a call the loop looks every few seconds, which also retries a witness that failed.
  void Wake();
  // One round of submissions now, on the caller's thread (taking turns with the loop's rounds):
  // learns the size each witness holds, and gets the checkpoint cosigned where it is consistent.
  WitnessProbe Probe();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lapor::federation
