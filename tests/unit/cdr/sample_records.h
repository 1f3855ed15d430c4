// Deterministic, varied, valid records for the cdr tests: both directions,
// every disposition, UTF-8, trailing spaces, longest fields, negative loss.
#pragma once

#include <cstdint>
#include <string>

#include "cdr/record.h"

namespace tandem::cdr::testing {

inline Record sample_record(uint64_t i, uint64_t id) {
  Record r;
  r.id = id;
  r.call_id = "call-" + std::to_string(i) + "@198.51.100." + std::to_string(i % 250);
  if (i % 97 == 0) r.call_id = std::string(kMaxCallId - 20, 'c') + std::to_string(i);
  r.direction = (i % 2 == 1 || i % 12 == 0) ? Direction::outbound : Direction::inbound;
  r.caller = "+4930" + std::to_string(1000000 + i);
  r.called = i % 5 == 0 ? "+1 555 0100 " : "+33" + std::to_string(600000000 + i);  // trailing space kept
  r.customer = i % 7 == 0 ? "Zürich Telekom AG ✓" : "customer-" + std::to_string(i % 17);
  const auto disp = static_cast<Disposition>(i % 6);
  r.disposition = disp;
  r.start_ms = 1'764'000'000'000 + static_cast<int64_t>(i) * 1237;
  r.end_ms = r.start_ms + static_cast<int64_t>(i % 7200) * 1001 + 47;
  if (disp == Disposition::answered) {
    r.answer_ms = r.start_ms + static_cast<int64_t>(i % 11) * 3;
    r.target = i % 4 == 0 ? "sip:voicemail@vm.example" : "+33" + std::to_string(600000000 + i);
    r.sip_code = 200;
  } else {
    static const uint16_t codes[] = {200, 486, 480, 503, 487, 403};
    r.sip_code = codes[i % 6];
  }
  if (r.direction == Direction::outbound) {
    r.provider = "carrier-" + std::to_string(i % 4);
    r.cost_micros = disp == Disposition::answered ? static_cast<int64_t>(i * 1234567 % 99999999) : 0;
  }
  r.dc = i % 2 ? "fra" : "ams";
  r.server = "node-" + std::to_string(i % 3);
  r.hangup_side = static_cast<HangupSide>(i % 3);
  r.hangup_reason = i % 8 == 0 ? "" : "BYE reason " + std::to_string(i % 13);
  for (int l = 0; l < 2; ++l) {
    auto& q = r.legs[static_cast<size_t>(l)];
    q.packets = i * 50 + static_cast<uint64_t>(l);
    q.bytes = q.packets * 172 + (uint64_t{1} << 40);
    q.lost = (i % 9 == 0) ? -static_cast<int64_t>(i % 5) : static_cast<int64_t>(i % 31);
    q.jitter_max_us = static_cast<uint32_t>(i % 100000) + 5000;
    q.jitter_mean_us = static_cast<uint32_t>(i % 5000);
  }
  compute_durations(r);
  return r;
}

}  // namespace tandem::cdr::testing
