// Table<T>: the arrays of the compiled index (compiled_index.h), on
// transparent huge pages.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace tandem::rules {

// A fixed-size array of trivial T, zero-filled, in its own mapping; from 2 MB
// on, 2 MB aligned and on transparent huge pages (MADV_HUGEPAGE: the usual
// THP setting is "madvise"). A lookup takes a few cache misses into tables
// of tens of MB; on 4 kB pages each would also be a TLB miss and a page walk
// (two-dimensional under KVM).
template <typename T>
class Table {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  Table() = default;
  ~Table() { release(); }
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  void reset(size_t n) {
    release();
    if (n == 0) return;
    constexpr size_t kHuge = size_t{2} << 20;
    const size_t bytes = n * sizeof(T);
    const bool huge = bytes >= kHuge;
    const size_t keep = huge ? (bytes + kHuge - 1) / kHuge * kHuge : bytes;
    const size_t len = huge ? keep + kHuge : keep;
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    char* start = static_cast<char*>(p);
    if (huge) {
      char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(start) + kHuge - 1) & ~(kHuge - 1));
      if (aligned > start) ::munmap(start, static_cast<size_t>(aligned - start));
      const size_t tail = static_cast<size_t>(start + len - (aligned + keep));
      if (tail) ::munmap(aligned + keep, tail);
      start = aligned;
      ::madvise(start, keep, MADV_HUGEPAGE);  // best effort
    }
    base_ = start;
    len_ = keep;
    data_ = reinterpret_cast<T*>(start);
    std::uninitialized_default_construct_n(data_, n);  // no writes: the pages stay zero
    size_ = n;
  }
  size_t size() const { return size_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  void release() {
    if (base_) ::munmap(base_, len_);
    base_ = nullptr;
    data_ = nullptr;
    size_ = len_ = 0;
  }
  void* base_ = nullptr;
  size_t len_ = 0;
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tandem::rules
