// SlotTable<Slot>: open addressing (linear probing, load <= 1/2) over a
// Table (huge_table.h), keyed by digits_key (number.h): the compiled index's
// DIDs and rate prefixes (compiled_index.h). A Slot has a uint64_t `key`,
// 0 in an empty slot (no digit string has key 0).
#pragma once

#include <cstddef>
#include <cstdint>

#include "rules/huge_table.h"

namespace tandem::rules {

// Slot of a digits_key in a power-of-two table: the MurmurHash3 finaliser,
// top bits (DIDs come in runs of consecutive numbers).
inline size_t slot_of(uint64_t key, unsigned shift) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ULL;
  key ^= key >> 33;
  return static_cast<size_t>(key >> shift);
}

// log2 of the power-of-two capacity for n keys at a load factor <= 1/2.
inline unsigned capacity_bits(size_t n) {
  unsigned bits = 4;
  while ((size_t{1} << bits) < 2 * n) ++bits;
  return bits;
}

template <typename Slot>
class SlotTable {
 public:
  // Empty, with room for n keys.
  void reset(size_t n) {
    const unsigned bits = capacity_bits(n);
    slots_.reset(size_t{1} << bits);
    shift_ = 64 - bits;
  }
  size_t size() const { return slots_.size(); }

  // Where the probe for `key` starts: a lookup prefetches it, does other
  // work while it comes, then calls find.
  size_t home(uint64_t key) const { return slot_of(key, shift_); }

  // The slot holding `key`, probing from its home `i`; nullptr if none does.
  const Slot* find(uint64_t key, size_t i) const {
    const size_t mask = size() - 1;
    for (;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s;
      if (s.key == 0) return nullptr;
    }
  }

  // The slot holding `key`, else the empty one it goes into.
  size_t place(uint64_t key) const {
    size_t slot = home(key);
    while (slots_[slot].key != 0 && slots_[slot].key != key) slot = (slot + 1) & (size() - 1);
    return slot;
  }

  Slot& operator[](size_t i) { return slots_[i]; }
  const Slot& operator[](size_t i) const { return slots_[i]; }

 private:
  Table<Slot> slots_;
  unsigned shift_ = 64;
};

}  // namespace tandem::rules
