// Measures the heap cost of idle server sessions: it creates N tls_session
// objects, completes each handshake against an in-memory OpenSSL client that
// is freed right after, and reports the growth of glibc's allocated bytes
// (mallinfo2().uordblks) divided by N, with and without
// SSL_MODE_RELEASE_BUFFERS. Usage: tls_memory_probe [N], default 1000.
#include "protocol/tls/self_signed.hpp"
#include "protocol/tls/tls_context.hpp"
#include "protocol/tls/tls_session.hpp"
#include "tests/tls/memory_client.hpp"

#include <malloc.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

using namespace starling::tls;

namespace {

bool measure(const host_certificate& host, bool release_buffers, int count) {
  context_config config;
  config.hosts = {host};
  config.release_buffers = release_buffers;
  auto made = tls_context::create(config);
  if (!made) {
    std::fprintf(stderr, "creating the context failed: %s\n", made.error.c_str());
    return false;
  }

  std::vector<tls_session> sessions;
  sessions.reserve(static_cast<std::size_t>(count));
  // One warm-up handshake so that OpenSSL's lazily loaded tables are not
  // counted as session memory.
  {
    tls_session warm(made.context);
    test::memory_client client({});
    client.pump(warm);
  }

  malloc_trim(0);
  auto before = mallinfo2().uordblks;
  for (int i = 0; i < count; ++i) {
    sessions.emplace_back(made.context);
    test::memory_client client({.sni = "probe.example", .alpn = {"xmpp-client"}});
    if (!client.pump(sessions.back())) {
      std::fprintf(stderr, "handshake %d failed: %s\n", i, sessions.back().error().c_str());
      return false;
    }
  }
  auto after = mallinfo2().uordblks;
  double per_session = static_cast<double>(after - before) / count;
  std::printf("release_buffers=%s sessions=%d heap_growth=%zu bytes per_session=%.0f bytes "
              "(%.1f KiB) protocol=%s\n",
              release_buffers ? "on" : "off", count, after - before, per_session,
              per_session / 1024, sessions.front().protocol_version().c_str());
  return true;
}

} // namespace

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 1000;
  if (count <= 0) {
    std::fprintf(stderr, "usage: tls_memory_probe [sessions]\n");
    return 2;
  }
  char pattern[] = "/tmp/starling-tls-probe-XXXXXX";
  std::filesystem::path dir = ::mkdtemp(pattern);
  host_certificate host{"probe.example", (dir / "probe.crt").string(),
                        (dir / "probe.key").string()};
  auto error = generate_self_signed(host.host, host.chain_path, host.private_key_path);
  bool ok = error.empty();
  if (!ok)
    std::fprintf(stderr, "%s\n", error.c_str());
  ok = ok && measure(host, true, count) && measure(host, false, count);
  std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
