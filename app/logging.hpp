// Process-wide logging setup on spdlog. Every component logs through
// spdlog's default logger and starts its lines with its own name (for
// example "c2s#17" or "store"), so one line is one event that says where it
// comes from. Passwords, keys and SASL payloads are never logged.
#pragma once

#include <string>
#include <string_view>

namespace starling::app {

/// Sends log lines to stderr at `level` (a valid server.log_level value).
void init_logging(std::string_view level);

/// Changes the level at run time; returns false for an invalid name.
bool set_log_level(std::string_view level);

/// Returns an IP address for logs. With masking on, IPv4 keeps its first
/// three octets (a.b.c.x) and IPv6 its first 48 bits.
std::string mask_address(std::string_view address, bool enabled);

} // namespace starling::app
