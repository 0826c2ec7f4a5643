#include "app/startup.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <system_error>

#include "protocol/tls/self_signed.hpp"

namespace starling::app {

namespace fs = std::filesystem;

store::options store_options(const config& cfg) {
  store::options opts;
  opts.data_dir = fs::path{cfg.server.data_dir} / "store";
  opts.map_size_initial = cfg.store.map_size_mib << 20;
  opts.map_size_max = cfg.store.max_map_size_mib << 20;
  opts.group_commit_max_ops = cfg.store.group_commit_max_ops;
  opts.group_commit_max_delay = std::chrono::milliseconds{cfg.store.group_commit_max_delay_ms};
  opts.scram_iterations = cfg.store.scram_iterations;
  return opts;
}

std::variant<tls::context_config, std::string> prepare_certificates(const config& cfg) {
  tls::context_config out;
  out.min_version = cfg.tls.min_version == "1.3" ? tls::tls_version::v1_3 : tls::tls_version::v1_2;
  auto tls_dir = fs::path{cfg.server.data_dir} / "tls";
  for (auto& host : cfg.server.hosts) {
    auto configured = std::find_if(cfg.tls.certificates.begin(), cfg.tls.certificates.end(),
                                   [&](const tls_certificate& c) { return c.host == host; });
    if (configured != cfg.tls.certificates.end()) {
      out.hosts.push_back({host, configured->cert_file, configured->key_file});
      continue;
    }

    auto cert = tls_dir / (host + ".crt");
    auto key = tls_dir / (host + ".key");
    std::error_code error;
    if (!fs::exists(cert, error) || !fs::exists(key, error)) {
      fs::create_directories(tls_dir, error);
      if (error)
        return fmt::format("cannot create {}: {}", tls_dir.string(), error.message());
      auto failure = tls::generate_self_signed(host, cert.string(), key.string());
      if (!failure.empty())
        return fmt::format("cannot create a certificate for {}: {}", host, failure);
      spdlog::info("tls: generated a self-signed certificate for {} in {}", host, cert.string());
    }
    out.hosts.push_back({host, cert.string(), key.string()});
  }
  // Certificates for names that are not hosts still serve SNI lookups.
  for (auto& extra : cfg.tls.certificates)
    if (std::find(cfg.server.hosts.begin(), cfg.server.hosts.end(), extra.host)
        == cfg.server.hosts.end())
      out.hosts.push_back({extra.host, extra.cert_file, extra.key_file});
  return out;
}

std::variant<std::shared_ptr<const tls::tls_context>, std::string>
make_tls_context(const config& cfg) {
  auto prepared = prepare_certificates(cfg);
  if (auto error = std::get_if<std::string>(&prepared))
    return *error;
  auto result = tls::tls_context::create(std::get<tls::context_config>(prepared));
  if (!result)
    return result.error;
  return result.context;
}

} // namespace starling::app
