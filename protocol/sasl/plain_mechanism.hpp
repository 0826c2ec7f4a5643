// PLAIN (RFC 4616), server side. Created through make_mechanism, which
// offers it only over TLS unless the configuration allows otherwise.
// Message: [authzid] NUL authcid NUL passwd.
#pragma once

#include "protocol/sasl/mechanism.hpp"

namespace starling::sasl {

class plain_mechanism final : public mechanism {
public:
  plain_mechanism(credentials_source credentials, mechanism_config config);

  step_result start(std::optional<std::string_view> initial_response) override;
  step_result step(std::string_view response) override;

private:
  step_result verify(std::string_view message);

  credentials_source credentials_;
  mechanism_config config_;
  bool challenged_ = false;
};

} // namespace starling::sasl
