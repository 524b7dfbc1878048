// `lapor-audit check-national`: checks the hub's national figures offline, from the evidence the
// hub serves (GET /national/v1/evidence, format "lapor-national-evidence-v1"): the hub-signed
// manifest (checked against the hub key the auditor holds), every member's signed report in each
// snapshot (checked against that member's key in the manifest, valid at the report's time, dated
// at or before the snapshot, one per member), and then every figure, recomputed from those
// reports with the same code the hub runs (protocol/national.h) and compared.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace lapor::audit {

struct NationalCheck {
  size_t reports = 0;  // signed reports verified
  size_t snapshots = 0;
  std::vector<std::string> problems;  // each names the snapshot, member or figure
  std::vector<std::string> notes;     // members of the manifest without a report in a snapshot
  bool ok() const { return problems.empty(); }
};

// InvalidArgument (naming the field) for a file that is not such evidence or a hub key that is
// not one; otherwise the check, with what failed in `problems`.
Result<NationalCheck> CheckNationalEvidence(const std::string& evidence_json,
                                            const std::string& hub_key_hex);

}  // namespace lapor::audit
