#include "app/logging.hpp"

#include <arpa/inet.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>

namespace starling::app {

void init_logging(std::string_view level) {
  auto logger = spdlog::stderr_color_mt("starling");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_default_logger(logger);
  set_log_level(level);
  // Warnings and errors reach the terminal even if the process dies next.
  spdlog::flush_on(spdlog::level::warn);
}

bool set_log_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string{level});
  // from_str maps unknown names to "off"; accept "off" only when asked for.
  if (parsed == spdlog::level::off && level != "off")
    return false;
  spdlog::set_level(parsed);
  return true;
}

std::string mask_address(std::string_view address, bool enabled) {
  std::string text{address};
  if (!enabled)
    return text;

  std::array<unsigned char, 16> bytes{};
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
    bytes[3] = 0;
    inet_ntop(AF_INET, bytes.data(), out, sizeof out);
    std::string masked{out};
    return masked.substr(0, masked.rfind('.')) + ".x";
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) {
    std::fill(bytes.begin() + 6, bytes.end(), 0);
    inet_ntop(AF_INET6, bytes.data(), out, sizeof out);
    return std::string{out} + "/48";
  }
  return "(address)";
}

} // namespace starling::app
