#include "dataplane/neighbors.h"

#include <rte_errno.h>
#include <rte_hash_crc.h>

namespace tandem::dp {
namespace {

struct Key {
  uint32_t ip;
  uint16_t port;
  uint16_t zero;
};

constexpr uint32_t kRequestIntervalMs = 1000;
constexpr size_t kMaxPendingRequests = 4096;

}  // namespace

std::unique_ptr<Neighbors> Neighbors::create(uint32_t capacity, int socket_id, std::string& error) {
  rte_hash_parameters hp{};
  hp.name = "tandem_neighbors";
  hp.entries = capacity;
  hp.key_len = sizeof(Key);
  hp.hash_func = rte_hash_crc;
  hp.socket_id = socket_id;
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  rte_hash* t = rte_hash_create(&hp);
  if (!t) {
    error = std::string("cannot create the neighbour table: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  return std::unique_ptr<Neighbors>(new Neighbors(t));
}

Neighbors::~Neighbors() { rte_hash_free(table_); }

uint64_t Neighbors::lookup(uint16_t port, uint32_t ip_net) const {
  const Key k{ip_net, port, 0};
  void* data = nullptr;
  if (rte_hash_lookup_data(table_, &k, &data) < 0) return 0;
  return reinterpret_cast<uintptr_t>(data);
}

void Neighbors::learn(uint16_t port, uint32_t ip_net, const uint8_t mac[6]) {
  const Key k{ip_net, port, 0};
  // Adding an existing key replaces its data atomically for lock-free readers.
  rte_hash_add_key_data(table_, &k, reinterpret_cast<void*>(static_cast<uintptr_t>(pack_mac(mac))));
}

bool Neighbors::should_request(uint16_t port, uint32_t ip_net, uint32_t now_ms) {
  // Forget old requests so that scans of many unreachable addresses cannot grow the map.
  if (last_request_ms_.size() >= kMaxPendingRequests) {
    std::erase_if(last_request_ms_, [now_ms](const auto& kv) { return now_ms - kv.second >= kRequestIntervalMs; });
    if (last_request_ms_.size() >= kMaxPendingRequests) return false;
  }
  auto [it, inserted] = last_request_ms_.try_emplace((uint64_t{port} << 32) | ip_net, now_ms);
  if (inserted) return true;
  if (now_ms - it->second < kRequestIntervalMs) return false;
  it->second = now_ms;
  return true;
}

}  // namespace tandem::dp
