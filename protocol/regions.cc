#include "protocol/regions.h"

#include <sstream>
#include <unordered_map>
#include <vector>

namespace lapor::protocol {

extern const char kProvincesCsv[];
extern const char kRegenciesCsv[];

namespace {

std::vector<std::string> SplitCsvLine(const std::string& line) {
  // The region files have no quoted commas; names may contain spaces and dots.
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) {
    if (!cell.empty() && cell.back() == '\r') cell.pop_back();
    out.push_back(cell);
  }
  return out;
}

struct Table {
  std::unordered_map<std::string, Region> by_code;
  size_t provinces = 0, regencies = 0;
};

const Table& Regions() {
  static const Table table = [] {
    Table t;
    std::istringstream p(kProvincesCsv);
    std::string line;
    std::getline(p, line);  // header
    while (std::getline(p, line)) {
      auto cells = SplitCsvLine(line);
      if (cells.size() < 2) continue;
      t.by_code[cells[0]] = Region{cells[0], cells[0], cells[1]};
      ++t.provinces;
    }
    std::istringstream r(kRegenciesCsv);
    std::getline(r, line);
    while (std::getline(r, line)) {
      auto cells = SplitCsvLine(line);
      if (cells.size() < 3) continue;
      t.by_code[cells[0]] = Region{cells[0], cells[1], cells[2]};
      ++t.regencies;
    }
    return t;
  }();
  return table;
}

}  // namespace

const Region* FindRegion(std::string_view code) {
  const auto& t = Regions();
  auto it = t.by_code.find(std::string(code));
  return it == t.by_code.end() ? nullptr : &it->second;
}

size_t ProvinceCount() { return Regions().provinces; }
size_t RegencyCount() { return Regions().regencies; }

bool IsValidJurisdiction(std::string_view code) {
  return code == kNationalHub || FindRegion(code) != nullptr;
}

bool RegionWithin(std::string_view region_code, std::string_view jurisdiction) {
  if (jurisdiction == kNationalHub) return FindRegion(region_code) != nullptr;
  const Region* r = FindRegion(region_code);
  if (r == nullptr) return false;
  return r->code == jurisdiction || r->province_code == jurisdiction;
}

}  // namespace lapor::protocol
