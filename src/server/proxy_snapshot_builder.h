#pragma once
// Builds one proxy's configuration snapshot from the catalog, the config entries and the
// CA: the resolution DESIGN.md keeps in the server so that proxies stay thin. A pure
// function of the committed state, tested without a network.

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxycfg/proxy_snapshot.h"
#include "server/catalog_state.h"
#include "store/record_store.h"

namespace meshgate::server {

struct built_snapshot {
  proxycfg::proxy_snapshot snapshot;
  /// What the snapshot was read from: a blocking query for it waits on these.
  std::vector<std::string> topics;
};

/// Why there is no snapshot to give: the API answers `status` with `message`, and a
/// blocking query still waits on `topics` (a proxy started before its registration gets
/// its snapshot as soon as the registration lands).
struct snapshot_unavailable {
  unsigned status;
  std::string message;
  std::vector<std::string> topics;
};

/// The snapshot of the proxy registered with ID `proxy_id`, or why there is none.
std::variant<built_snapshot, snapshot_unavailable> build_proxy_snapshot(const store::state_view& state,
                                                                        const node_info& node,
                                                                        std::string_view proxy_id);

}  // namespace meshgate::server
