#include "federation/routing.h"

#include "federation/regions.h"

namespace lapor::federation {

std::vector<std::string> Destinations(std::string_view node_jurisdiction,
                                      std::string_view case_region) {
  if (RegionWithin(case_region, node_jurisdiction)) return {};
  std::vector<std::string> out{std::string(kNationalHub)};
  const Region* r = FindRegion(case_region);
  if (r != nullptr) out.push_back(r->code == r->province_code ? r->code : r->province_code);
  return out;
}

}  // namespace lapor::federation
