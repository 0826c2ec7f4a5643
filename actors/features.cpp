#include "actors/features.hpp"

#include <algorithm>
#include <vector>

#include "protocol/sasl/scram_crypto.hpp"

namespace starling::actors {

std::vector<std::string> server_features() {
  std::vector<std::string> out;
  for (auto& row : implemented_features)
    if (!row.var.empty())
      out.emplace_back(row.var);
  std::sort(out.begin(), out.end());
  return out;
}

const std::string& server_caps_ver() {
  // XEP-0115 5.1: identities as category/type/lang/name, then features,
  // each followed by '<', sorted, hashed with SHA-1 and base64-encoded.
  static const std::string ver = [] {
    std::string input;
    input.append(server_identity_category).append("/");
    input.append(server_identity_type).append("//");
    input.append(server_identity_name).append("<");
    for (auto& feature : server_features())
      input.append(feature).append("<");
    return sasl::base64_encode(sasl::digest(sasl::scram_hash::sha1, input));
  }();
  return ver;
}

} // namespace starling::actors
