#include "attendant/g711.h"

namespace tandem::attendant::g711 {

namespace {

constexpr int kUlawBias = 0x84;   // 132: moves every segment's start to a power of two
constexpr int kUlawClip = 32635;  // the largest magnitude that biased still fits 15 bits

// The segment of a magnitude: the position of its highest set bit above `lowest`.
int segment(int magnitude, int lowest) {
  int seg = 0;
  for (int v = magnitude >> lowest; v > 1 && seg < 7; v >>= 1) ++seg;
  return seg;
}

}  // namespace

uint8_t linear_to_ulaw(int16_t sample) {
  int v = sample;
  const int sign = v < 0 ? 0x80 : 0;
  if (v < 0) v = -v;
  if (v > kUlawClip) v = kUlawClip;
  v += kUlawBias;
  const int seg = segment(v, 7);
  const int mantissa = (v >> (seg + 3)) & 0x0f;
  return static_cast<uint8_t>(~(sign | seg << 4 | mantissa));
}

int16_t ulaw_to_linear(uint8_t code) {
  const int c = ~code & 0xff;
  const int seg = (c >> 4) & 0x07;
  const int v = (((c & 0x0f) << 3) + kUlawBias) << seg;
  return static_cast<int16_t>(c & 0x80 ? kUlawBias - v : v - kUlawBias);
}

uint8_t linear_to_alaw(int16_t sample) {
  // A-law codes the 13 most significant bits; even bits are inverted on the wire.
  int v = sample >> 3;
  const int sign = v >= 0 ? 0x80 : 0;
  if (v < 0) v = -v - 1;
  if (v > 0xfff) v = 0xfff;
  const int seg = v < 0x20 ? 0 : segment(v, 5) + 1;
  const int mantissa = seg == 0 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return static_cast<uint8_t>((sign | seg << 4 | mantissa) ^ 0x55);
}

int16_t alaw_to_linear(uint8_t code) {
  const int c = code ^ 0x55;
  const int seg = (c >> 4) & 0x07;
  int v = ((c & 0x0f) << 4) + 8;  // the middle of the step
  if (seg > 0) v = (v + 0x100) << (seg - 1);
  return static_cast<int16_t>(c & 0x80 ? v : -v);
}

}  // namespace tandem::attendant::g711
