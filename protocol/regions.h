// The official region codes (38 provinces, 514 regencies/cities) and the jurisdictions built on
// them. Data: data/regions/ (ODbL 1.0), compiled in.
#pragma once

#include <string>
#include <string_view>

namespace lapor::protocol {

inline constexpr std::string_view kNationalHub = "00";

struct Region {
  std::string code;           // "32" or "32.04"
  std::string province_code;  // "32" for both
  std::string name;
};

// Returns the region with this code, or nullptr. Thread-safe; the table loads on first use.
const Region* FindRegion(std::string_view code);
size_t ProvinceCount();
size_t RegencyCount();

// A jurisdiction is a province, a regency/city, or the national hub ("00").
bool IsValidJurisdiction(std::string_view code);
// True if a case in `region_code` belongs to the node of `jurisdiction`.
bool RegionWithin(std::string_view region_code, std::string_view jurisdiction);

}  // namespace lapor::protocol
