// ITU-T G.711: 16-bit linear PCM to and from mu-law (PCMU, RTP payload type 0)
// and A-law (PCMA, 8), and between the two laws. The segment arithmetic of the
// Recommendation, not tables, so that every value is computed the one way the
// unit tests check against the Recommendation's end points.
#pragma once

#include <cstdint>

namespace tandem::attendant::g711 {

uint8_t linear_to_ulaw(int16_t sample);
uint8_t linear_to_alaw(int16_t sample);
int16_t ulaw_to_linear(uint8_t code);
int16_t alaw_to_linear(uint8_t code);

// Through the linear value each code stands for: exact for A-law -> linear,
// the nearest code of the other law otherwise.
inline uint8_t alaw_to_ulaw(uint8_t code) { return linear_to_ulaw(alaw_to_linear(code)); }
inline uint8_t ulaw_to_alaw(uint8_t code) { return linear_to_alaw(ulaw_to_linear(code)); }

}  // namespace tandem::attendant::g711
