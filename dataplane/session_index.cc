#include "dataplane/session_index.h"

#include <arpa/inet.h>

#include <bit>

namespace tandem::dp {
namespace {

uint32_t ports_per_address(uint16_t port_min, uint16_t port_max) { return (uint32_t{port_max} - port_min + 1) / 2; }

}  // namespace

size_t SessionIndex::entries_for(size_t addresses, uint16_t port_min, uint16_t port_max) {
  return addresses * ports_per_address(port_min, port_max);
}

SessionIndex::SessionIndex(std::span<const uint32_t> addresses, uint16_t port_min, uint16_t port_max,
                           std::span<uint32_t> storage)
    : addresses_(addresses.begin(), addresses.end()),
      address_slots_(std::bit_ceil(2 * addresses.size() + 2), AddressSlot{0, 0}),
      address_shift_(32 - static_cast<uint32_t>(std::countr_zero(address_slots_.size()))),
      port_min_(port_min),
      ports_per_address_(ports_per_address(port_min, port_max)),
      entries_(storage) {
  for (uint32_t row = 0; row < addresses_.size(); ++row) {
    uint32_t i = home(addresses_[row]);
    while (address_slots_[i].ip != 0) i = next(i);
    address_slots_[i] = {addresses_[row], row};
  }
}

uint32_t* SessionIndex::slot_of(uint32_t ip_net, uint16_t port_host) {
  return const_cast<uint32_t*>(entry(ip_net, htons(port_host)));
}

bool SessionIndex::insert(uint32_t ip_net, uint16_t port_host, uint32_t ref) {
  uint32_t* e = slot_of(ip_net, port_host);
  if (!e || *e != kEmpty) return false;
  store(e, ref + kFirstRef);
  return true;
}

void SessionIndex::remove(uint32_t ip_net, uint16_t port_host) {
  if (uint32_t* e = slot_of(ip_net, port_host); e && *e >= kFirstRef) store(e, kRemoved);
}

void SessionIndex::release(uint32_t ip_net, uint16_t port_host) {
  if (uint32_t* e = slot_of(ip_net, port_host); e && *e == kRemoved) store(e, kEmpty);
}

}  // namespace tandem::dp
