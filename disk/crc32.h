// CRC-32 (zlib's, ISO-HDLC) of what we keep on disk: the CDR spool's records
// and checkpoint, the id sequence, the saved rules. `crc` continues a running one.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string_view>

namespace tandem::disk {

inline uint32_t crc32_of(std::string_view data, uint32_t crc = 0) {
  return static_cast<uint32_t>(
      ::crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

}  // namespace tandem::disk
