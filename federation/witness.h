// A C2SP tlog-witness: cosigns other nodes' checkpoints (c2sp.org/tlog-cosignature) after checking
// that each is consistent with the last one it cosigned for that log, and records two validly
// signed but inconsistent checkpoints as proof of equivocation.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "crypto/note.h"
#include "storage/store.h"

namespace lapor::federation {

struct WitnessReply {
  int http_status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class Witness {
 public:
  // Witnesses the logs whose note verifier keys are `log_vkeys`, cosigning as `name` with `key`.
  static Result<std::unique_ptr<Witness>> Create(storage::WitnessState* store,
                                                 const std::vector<std::string>& log_vkeys,
                                                 std::string name,
                                                 std::shared_ptr<const crypto::SigningKey> key,
                                                 Clock* clock = Clock::Real());

  // The tlog-witness add-checkpoint request: "old <size>\n", consistency proof lines (base64),
  // a blank line, then the signed checkpoint. 200 with the cosignature line; 404 unknown log;
  // 403 not signed by the log's key; 409 with the witnessed size (text/x.tlog.size) when `old`
  // is not it; 422 when the proof fails (and when the new checkpoint has the cosigned size but
  // another root, an equivocation alert keeps both signed checkpoints); 400 when malformed.
  WitnessReply AddCheckpoint(std::string_view request);

  // The verifier key (type 0x04) that checks this witness's cosignatures.
  std::string CosignerVkey() const;

 private:
  Witness(storage::WitnessState* store, std::string name,
          std::shared_ptr<const crypto::SigningKey> key, Clock* clock)
      : store_(store), name_(std::move(name)), key_(std::move(key)), clock_(clock) {}

  storage::WitnessState* const store_;
  const std::string name_;
  const std::shared_ptr<const crypto::SigningKey> key_;
  Clock* const clock_;
  std::vector<crypto::NoteVerifier> logs_;
};

}  // namespace lapor::federation
