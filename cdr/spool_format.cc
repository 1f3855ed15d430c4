#include "cdr/spool_format.h"

#include <zlib.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace tandem::cdr {

namespace spool_format {
namespace {

void put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t get32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

uint32_t entry_crc(const char* len_field, std::string_view payload) {
  return crc32_of(payload, crc32_of(std::string_view(len_field, 4)));
}

}  // namespace

void append_entry(std::string& out, std::string_view payload) {
  char h[kSpoolHeader];
  put32(h, kSpoolMagic);
  put32(h + 4, static_cast<uint32_t>(payload.size()));
  put32(h + 8, entry_crc(h + 4, payload));
  out.append(h, kSpoolHeader);
  out.append(payload);
}

Frame check_entry(std::string_view buf, size_t& size) {
  if (buf.size() < kSpoolHeader) {
    // A prefix of a valid header is incomplete; anything else is bad.
    char magic[4];
    put32(magic, kSpoolMagic);
    return std::memcmp(buf.data(), magic, std::min<size_t>(buf.size(), 4)) == 0 ? Frame::incomplete
                                                                                 : Frame::bad;
  }
  if (get32(buf.data()) != kSpoolMagic) return Frame::bad;
  const uint32_t len = get32(buf.data() + 4);
  if (len == 0 || len > kMaxSpoolPayload) return Frame::bad;
  if (buf.size() < kSpoolHeader + len) return Frame::incomplete;
  if (entry_crc(buf.data() + 4, buf.substr(kSpoolHeader, len)) != get32(buf.data() + 8)) {
    return Frame::bad;
  }
  size = kSpoolHeader + len;
  return Frame::ok;
}

size_t resync(std::string_view buf) {
  for (size_t i = 1; i + kSpoolHeader <= buf.size(); ++i) {
    size_t size;
    if (check_entry(buf.substr(i), size) == Frame::ok) return i;
  }
  return std::string_view::npos;
}

std::string checkpoint_text(SpoolPosition pos) {
  char body[96];
  std::snprintf(body, sizeof body, "tandem-cdr-checkpoint 1 %" PRIu64 " %" PRIu64, pos.segment,
                pos.offset);
  char line[128];
  std::snprintf(line, sizeof line, "%s %08x\n", body, crc32_of(body));
  return line;
}

bool parse_checkpoint(const std::string& text, SpoolPosition& pos) {
  uint64_t seg, off;
  unsigned crc;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "tandem-cdr-checkpoint 1 %" SCNu64 " %" SCNu64 " %8x\n%n", &seg,
                  &off, &crc, &consumed) != 3) {
    return false;
  }
  if (static_cast<size_t>(consumed) != text.size()) return false;
  if (checkpoint_text({seg, off}) != text) return false;
  pos = {seg, off};
  return true;
}

}  // namespace spool_format
}  // namespace tandem::cdr
