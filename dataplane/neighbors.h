// IPv4 neighbours (next-hop MAC addresses) per port, learnt from the ARP that
// crosses the exception path and resolved by ARP requests of our own.
// One writer, the housekeeping thread; lock-free readers, the workers.
#pragma once

#include <rte_hash.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

#include "dataplane/leg.h"

namespace tandem::dp {

class Neighbors {
 public:
  static std::unique_ptr<Neighbors> create(uint32_t capacity, int socket_id, std::string& error);
  ~Neighbors();
  Neighbors(const Neighbors&) = delete;
  Neighbors& operator=(const Neighbors&) = delete;

  // Workers: the MAC as a word with kMacValid set, or 0 when unknown.
  uint64_t lookup(uint16_t port, uint32_t ip_net) const;

  // Housekeeping.
  void learn(uint16_t port, uint32_t ip_net, const uint8_t mac[6]);
  uint32_t size() const { return static_cast<uint32_t>(rte_hash_count(table_)); }
  // Rate limit for our own ARP requests: true when `ip` may be asked for now.
  bool should_request(uint16_t port, uint32_t ip_net, uint32_t now_ms);

 private:
  explicit Neighbors(rte_hash* t) : table_(t) {}
  rte_hash* table_;
  std::unordered_map<uint64_t, uint32_t> last_request_ms_;
};

// Inline: both run once per relayed packet.
inline uint64_t pack_mac(const uint8_t mac[6]) {
  uint64_t w = 0;
  std::memcpy(&w, mac, 6);
  return w | kMacValid;
}
inline void unpack_mac(uint64_t word, uint8_t mac[6]) { std::memcpy(mac, &word, 6); }

}  // namespace tandem::dp
