// The session index: (local address, even relay port) -> leg, one 4-byte entry
// per relay port of each local address. The dataplane hands out the relay
// ports itself, so the key space is small and dense: a direct-indexed table
// costs one load per packet (one cache line for 16 neighbouring ports), where
// a hash costs a bucket and a key-store miss.
//
// One writer (the control thread), lock-free readers (the workers). Removal
// is two steps, as for rte_hash: remove() hides the entry from readers at once
// and release() makes it reusable, which the caller does only after every
// reader has passed a quiescent state (rte_rcu_qsbr). Until then insert()
// refuses the entry, so a reader still holding the old leg never meets a new
// session behind the same key. Pure: no DPDK, the storage is the caller's.
#pragma once

#include <arpa/inet.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace tandem::dp {

// A leg as the index stores it: slot * 2 + leg.
inline uint32_t leg_ref(uint32_t slot, unsigned leg) { return (slot << 1) | leg; }

class SessionIndex {
 public:
  // How many entries `storage` must hold for these addresses and relay ports.
  static size_t entries_for(size_t addresses, uint16_t port_min, uint16_t port_max);

  // `addresses`: the local IPv4 addresses (network order), distinct and not 0.
  // `storage`: entries_for() zeroed entries, alive as long as the index.
  SessionIndex(std::span<const uint32_t> addresses, uint16_t port_min, uint16_t port_max,
               std::span<uint32_t> storage);

  // Workers. The entry a packet to ip:port (network order) would find, or
  // nullptr when no relay port of ours has that address and port; RTCP (odd
  // port) shares its RTP leg's entry. Cheap enough to take for a whole burst
  // and prefetch before any entry is read.
  const uint32_t* entry(uint32_t ip_net, uint16_t port_net) const;
  // The leg ref an entry holds, if a live session holds it.
  static std::optional<uint32_t> read(const uint32_t* entry) {
    const uint32_t v = std::atomic_ref<uint32_t>(const_cast<uint32_t&>(*entry)).load(std::memory_order_acquire);
    if (v < kFirstRef) return std::nullopt;
    return v - kFirstRef;
  }

  // Control thread. insert() publishes with release semantics: whatever was
  // written to the session before is visible to a reader that finds it.
  // False if the key is not ours or its entry is in use or not yet released.
  bool insert(uint32_t ip_net, uint16_t port_host, uint32_t ref);
  void remove(uint32_t ip_net, uint16_t port_host);
  void release(uint32_t ip_net, uint16_t port_host);

  size_t addresses() const { return addresses_.size(); }

 private:
  // Entry values: empty, removed but maybe still read, and leg refs above.
  static constexpr uint32_t kEmpty = 0;
  static constexpr uint32_t kRemoved = 1;
  static constexpr uint32_t kFirstRef = 2;

  // Address -> row of the table, open addressing: one probe in the common case,
  // whatever the number of addresses.
  struct AddressSlot {
    uint32_t ip;   // network order, 0 = free
    uint32_t row;
  };
  // Fibonacci hashing: the top bits of the product.
  uint32_t home(uint32_t ip_net) const { return (ip_net * 0x9e3779b1u) >> address_shift_; }
  uint32_t next(uint32_t i) const { return (i + 1) & static_cast<uint32_t>(address_slots_.size() - 1); }
  std::optional<uint32_t> row_of(uint32_t ip_net) const;
  uint32_t* slot_of(uint32_t ip_net, uint16_t port_host);
  void store(uint32_t* e, uint32_t v) { std::atomic_ref<uint32_t>(*e).store(v, std::memory_order_release); }

  std::vector<uint32_t> addresses_;
  std::vector<AddressSlot> address_slots_;  // a power of two, at least twice the addresses
  uint32_t address_shift_;
  uint16_t port_min_;
  uint32_t ports_per_address_;  // even ports from port_min_ to the range's end
  std::span<uint32_t> entries_;
};

// Inline: a lookup per received packet.
inline std::optional<uint32_t> SessionIndex::row_of(uint32_t ip_net) const {
  if (ip_net == 0) return std::nullopt;
  // At most half the slots are taken, so a free one ends every probe.
  for (uint32_t i = home(ip_net);; i = next(i)) {
    if (address_slots_[i].ip == ip_net) return address_slots_[i].row;
    if (address_slots_[i].ip == 0) return std::nullopt;
  }
}

inline const uint32_t* SessionIndex::entry(uint32_t ip_net, uint16_t port_net) const {
  const auto row = row_of(ip_net);
  // Unsigned: a port below the range wraps far above it.
  const uint32_t column = (uint32_t{ntohs(port_net)} - port_min_) >> 1;
  if (!row || column >= ports_per_address_) return nullptr;
  return &entries_[size_t{*row} * ports_per_address_ + column];
}

}  // namespace tandem::dp
