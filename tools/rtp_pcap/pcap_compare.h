// `compare`: an EXPECTED and an ACTUAL capture field by field, plus the IPv4
// and UDP checksums of every ACTUAL packet recomputed from its bytes.
#pragma once

#include <cstdint>
#include <string>

namespace tandem::rtp_pcap {

struct CompareOptions {
  std::string expected;
  std::string actual;
  bool ignore_order = false;  // match packets as multisets (a multi-queue relay reorders across sessions)
  uint32_t max_diffs = 20;    // difference lines printed, 0 = all
};

// Prints the differences and a summary line on stdout. Returns 0 when the
// captures are equal and ACTUAL's checksums correct, 1 when not, and 2 when a
// capture cannot be read (the reason on stderr).
int compare(const CompareOptions& o);

}  // namespace tandem::rtp_pcap
