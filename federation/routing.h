// Which nodes must receive an event: the outbox destinations written in the event's transaction.
// Local cases stay in their region; a case whose region lies outside the authoring node's
// jurisdiction goes to the hub and to the region's node. (The federation manifest refines the
// region -> node mapping once membership exists.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lapor::federation {

std::vector<std::string> Destinations(std::string_view node_jurisdiction,
                                      std::string_view case_region);

}  // namespace lapor::federation
