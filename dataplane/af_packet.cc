#include "dataplane/af_packet.h"

#include <linux/if_packet.h>

#include <charconv>

namespace tandem::dp {
namespace {

constexpr uint32_t kEthHeader = 14;

// Calls f with each item of a comma-separated list.
template <typename F>
void for_each_item(std::string_view list, F&& f) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    f(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
}

std::string_view key_of(std::string_view kv) { return kv.substr(0, kv.find('=')); }

}  // namespace

bool is_af_packet_vdev(std::string_view vdev) {
  const std::string_view name = vdev.substr(0, vdev.find(','));
  return name.starts_with("net_af_packet") || name.starts_with("eth_af_packet");
}

std::string_view devarg(std::string_view args, std::string_view key) {
  std::string_view found;
  for_each_item(args, [&](std::string_view kv) {
    if (key_of(kv) == key) found = kv.size() > key.size() ? kv.substr(key.size() + 1) : std::string_view{};
  });
  return found;
}

bool add_af_packet_ring_defaults(std::string& vdev) {
  if (!is_af_packet_vdev(vdev)) return false;
  const size_t comma = vdev.find(',');
  const std::string_view args =
      comma == std::string::npos ? std::string_view{} : std::string_view(vdev).substr(comma + 1);
  bool has_geometry = false;
  for_each_item(args, [&](std::string_view kv) { has_geometry |= key_of(kv) == "framesz" || key_of(kv) == "blocksz"; });
  if (has_geometry) return false;
  // One slot per block: a block must be whole pages, and the PMD finds slot i
  // at i * framesz, which holds when slots fill blocks exactly.
  const std::string size = std::to_string(kAfPacketFrameSize);
  vdev += ",framesz=" + size + ",blocksz=" + size;
  return true;
}

std::vector<std::string> add_af_packet_ring_defaults(std::vector<std::string>& eal_args) {
  std::vector<std::string> changed;
  constexpr std::string_view kFlag = "--vdev";
  for (size_t i = 0; i < eal_args.size(); ++i) {
    std::string& a = eal_args[i];
    if (a == kFlag && i + 1 < eal_args.size()) {
      if (add_af_packet_ring_defaults(eal_args[i + 1])) changed.push_back(eal_args[i + 1]);
      ++i;
    } else if (a.starts_with("--vdev=")) {
      std::string value = a.substr(kFlag.size() + 1);
      if (add_af_packet_ring_defaults(value)) {
        a = std::string(kFlag) + "=" + value;
        changed.push_back(value);
      }
    }
  }
  return changed;
}

uint32_t af_packet_frame_size(std::string_view args) {
  const std::string_view v = devarg(args, "framesz");
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n == 0) return kAfPacketPmdFrameSize;
  return n;
}

uint32_t af_packet_mbuf_data(uint32_t framesz) {
  // The PMD's own check (eth_rx_queue_setup): framesz - (TPACKET2_HDRLEN -
  // sizeof(struct sockaddr_ll)) must fit the mbuf's data room.
  constexpr uint32_t kOverhead = TPACKET2_HDRLEN - sizeof(sockaddr_ll);
  return framesz > kOverhead ? framesz - kOverhead : 0;
}

uint32_t af_packet_max_frame(uint32_t framesz) {
  // tpacket_rcv(): netoff = TPACKET_ALIGN(tp_hdrlen + max(maclen, 16)),
  // macoff = netoff - maclen; a frame longer than framesz - macoff is cut.
  constexpr uint32_t kMacOffset = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - kEthHeader;
  return framesz > kMacOffset ? framesz - kMacOffset : 0;
}

}  // namespace tandem::dp
