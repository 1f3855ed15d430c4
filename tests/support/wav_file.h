// A WAV file's bytes with every header field settable, wrong on purpose or
// not (the prompt parser's tests), or carrying given samples (the attendant's
// tests and bench). No test framework: bench/ uses it too.
#pragma once

#include <cstdint>
#include <string>

namespace tandem::testing {

struct Wav {
  uint16_t format = 1;        // 1 PCM, 6 A-law, 7 mu-law, 0xfffe extensible
  uint16_t sub_format = 0;    // extensible's
  uint16_t channels = 1;
  uint32_t rate = 8000;
  uint16_t bits = 16;
  uint32_t byte_rate = 0;     // 0: what the fields above make
  uint16_t block_align = 0;   // 0: likewise
  uint32_t samples = 8000;
  uint16_t fmt_extra = 0;     // bytes after the 16 of a plain fmt chunk (sox: 2, cbSize)
  uint32_t fmt_bytes = 0;     // not 0: the fmt chunk cut to this size
  bool fact = false;          // a fact chunk after fmt
  uint32_t list_bytes = 0;    // not 0: a LIST chunk of this size before fmt
  bool no_fmt = false;
  bool odd_data = false;      // a byte more than whole samples
  std::string data{};         // not empty: the data chunk (samples and odd_data then unused)

  std::string bytes() const {
    const uint16_t align = block_align ? block_align : static_cast<uint16_t>(channels * bits / 8);
    std::string fmt;
    put16(fmt, format), put16(fmt, channels), put32(fmt, rate);
    put32(fmt, byte_rate ? byte_rate : rate * channels * bits / 8);
    put16(fmt, align), put16(fmt, bits);
    if (format == 0xfffe) {
      put16(fmt, 22), put16(fmt, bits), put32(fmt, 4);
      put16(fmt, sub_format);
      fmt.append(14, '\x01');
    } else {
      fmt.append(fmt_extra, '\0');
    }
    if (fmt_bytes) fmt.resize(fmt_bytes);
    std::string chunks;
    if (list_bytes) chunk(chunks, "LIST", std::string(list_bytes, 'x'));
    if (!no_fmt) chunk(chunks, "fmt ", fmt);
    if (fact) {
      std::string n;
      put32(n, samples);
      chunk(chunks, "fact", n);
    }
    chunk(chunks, "data", data.empty() ? std::string(size_t{samples} * align + (odd_data ? 1 : 0), '\x55') : data);
    std::string file = "RIFF";
    put32(file, static_cast<uint32_t>(4 + chunks.size()));
    return file + "WAVE" + chunks;
  }

  static void put16(std::string& s, uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>(v >> 8 & 0xff);
  }
  static void put32(std::string& s, uint32_t v) { put16(s, v & 0xffff), put16(s, v >> 16); }
  static void chunk(std::string& s, const char* id, const std::string& body) {
    s += id;
    put32(s, static_cast<uint32_t>(body.size()));
    s += body;
    if (body.size() % 2) s += '\0';
  }
};

}  // namespace tandem::testing
