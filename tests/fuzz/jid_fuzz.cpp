// libFuzzer target for JID parsing: a JID that parses must re-parse from its
// normalised form to an equal JID, and its bare form must too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "protocol/jid/jid.hpp"

using starling::jid::jid;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto parsed = jid::parse(text);
  if (!parsed) return 0;

  auto full = parsed->full();
  auto again = jid::parse(full);
  if (!again || !(*again == *parsed)) {
    std::fprintf(stderr, "not idempotent: %s\n", full.c_str());
    std::abort();
  }

  // Every part respects the RFC 7622 length limit and only the optional
  // parts may be empty.
  if (parsed->domain().empty() || parsed->local().size() > starling::jid::max_part_bytes ||
      parsed->domain().size() > starling::jid::max_part_bytes ||
      parsed->resource().size() > starling::jid::max_part_bytes) {
    std::abort();
  }

  auto bare = jid::parse(parsed->bare_string());
  if (!bare || !(*bare == parsed->bare())) std::abort();
  if (!parsed->resource().empty()) {
    auto same = parsed->bare().with_resource(parsed->resource());
    if (!same || !(*same == *parsed)) std::abort();
  }
  return 0;
}
