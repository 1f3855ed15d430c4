#include "dataplane/fragment.h"

#include <algorithm>
#include <cstring>

#include "dataplane/checksum.h"

namespace tandem::dp {
namespace {

constexpr uint32_t kEthHeader = 14;
constexpr uint32_t kVlanTag = 4;
constexpr uint32_t kIpv4Header = 20;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint16_t kFlagMf = 0x2000;
constexpr uint16_t kOffsetMask = 0x1fff;
constexpr uint8_t kOptionEnd = 0;
constexpr uint8_t kOptionNop = 1;
constexpr uint8_t kOptionCopied = 0x80;
constexpr uint32_t kMaxDatagram = 65535;

uint16_t get_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void put_be16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

bool Ipv4Fragmenter::plan(const uint8_t* frame, uint32_t len, uint32_t mtu) {
  count_ = 0;
  if (len < kEthHeader) return false;
  uint32_t l3 = kEthHeader;
  uint16_t ether_type = get_be16(frame + 12);
  if (ether_type == kEtherTypeVlan) {
    if (len < kEthHeader + kVlanTag) return false;
    ether_type = get_be16(frame + 16);
    l3 += kVlanTag;
  }
  if (ether_type != kEtherTypeIpv4 || len < l3 + kIpv4Header) return false;
  const uint8_t* ip = frame + l3;
  const uint32_t ihl = (ip[0] & 0x0fu) * 4u;
  const uint32_t total = get_be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < kIpv4Header || total < ihl || total > len - l3) return false;
  const uint32_t data_len = total - ihl;
  // The last fragment's offset must fit the 13-bit field.
  const uint32_t offset = (get_be16(ip + 6) & kOffsetMask) * 8u;
  if (offset + data_len > kMaxDatagram) return false;

  // RFC 791: options whose copied flag is set go into every fragment, the
  // others into the first only.
  uint32_t later = 0;
  for (uint32_t i = kIpv4Header; i < ihl;) {
    const uint8_t type = ip[i];
    if (type == kOptionEnd) break;
    if (type == kOptionNop) {
      ++i;
      continue;
    }
    if (i + 1 >= ihl || ip[i + 1] < 2 || i + ip[i + 1] > ihl) break;  // malformed: copy no more
    if (type & kOptionCopied) {
      std::memcpy(later_options_ + later, ip + i, ip[i + 1]);
      later += ip[i + 1];
    }
    i += ip[i + 1];
  }
  const uint32_t later_ihl = kIpv4Header + (later + 3) / 4 * 4;
  std::fill(later_options_ + later, later_options_ + sizeof later_options_, kOptionEnd);

  frame_ = frame;
  l3_ = l3;
  ihl_ = ihl;
  later_ihl_ = later_ihl;
  data_len_ = data_len;
  if (total <= mtu) {
    first_chunk_ = data_len;
    chunk_ = 0;
    count_ = 1;
    return true;
  }
  // Every fragment but the last carries a multiple of 8 data bytes.
  if (mtu < ihl + 8) return false;
  first_chunk_ = (mtu - ihl) / 8 * 8;
  chunk_ = (mtu - later_ihl) / 8 * 8;  // later headers are never longer than the first
  count_ = 1 + (data_len - first_chunk_ + chunk_ - 1) / chunk_;
  return true;
}

uint32_t Ipv4Fragmenter::data_offset(uint32_t i) const { return i == 0 ? 0 : first_chunk_ + (i - 1) * chunk_; }

uint32_t Ipv4Fragmenter::data_size(uint32_t i) const {
  const uint32_t start = data_offset(i);
  return std::min(i == 0 ? first_chunk_ : chunk_, data_len_ - start);
}

uint32_t Ipv4Fragmenter::frame_size(uint32_t i) const { return l3_ + header_size(i) + data_size(i); }

void Ipv4Fragmenter::write(uint32_t i, uint8_t* out) const {
  const uint8_t* ip_in = frame_ + l3_;
  const uint32_t hlen = header_size(i);
  const uint32_t start = data_offset(i);
  const uint32_t size = data_size(i);
  std::memcpy(out, frame_, l3_);
  uint8_t* ip = out + l3_;
  if (i == 0) {
    std::memcpy(ip, ip_in, ihl_);
  } else {
    std::memcpy(ip, ip_in, kIpv4Header);
    std::memcpy(ip + kIpv4Header, later_options_, hlen - kIpv4Header);
  }
  std::memcpy(ip + hlen, ip_in + ihl_ + start, size);

  ip[0] = static_cast<uint8_t>(0x40 | hlen / 4);
  put_be16(ip + 2, hlen + size);
  // Flags: reserved and DF as they were; MF unless this is the last fragment of
  // a datagram that was not itself a middle fragment.
  const uint16_t field = get_be16(ip_in + 6);
  const bool last = i + 1 == count_;
  const uint32_t offset = (field & kOffsetMask) * 8u + start;
  const bool more = !last || (field & kFlagMf);
  put_be16(ip + 6, (field & ~(kFlagMf | kOffsetMask)) | (more ? kFlagMf : 0) | offset / 8);
  ip[10] = ip[11] = 0;
  const uint16_t check = static_cast<uint16_t>(~fold32(csum_partial(ip, hlen, 0)));
  std::memcpy(ip + 10, &check, sizeof check);
}

}  // namespace tandem::dp
