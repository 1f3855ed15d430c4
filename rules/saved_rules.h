// The last good rules on local disk, so that a call server started while its
// Rules DB cannot be reached routes calls instead of refusing them all.
//
// Written at every load that validated, replaced whole (disk/replace_file.h),
// read only when the DB cannot give a snapshot (rules/reloader.h). The file: one text line for
// whoever looks at it (`head -1`), fixed width so it is written last, then
// the tables in a binary form that is this file's alone:
//
//   tandem-rules-saved 2 version=00000000000000000042 saved=00000000001796550000 bytes=00000000000000123456 crc32=89abcdef\n
//   customers, numbers, rules, menus, providers, rates: each a count, then its rows
//
// Integers little-endian, strings and lists with their length first; the
// checksum covers the first line's fields and the tables. A file
// that is short, long, of another format or whose checksum differs is refused
// whole: routing from half the rules would be worse than 503.
#pragma once

#include <cstdint>
#include <string>

#include "rules/model.h"

namespace tandem::rules {

struct SavedInfo {
  uint64_t version = 0;      // config_version of the DB the rules were loaded from
  int64_t saved_unix_s = 0;  // when they were written
  uint64_t bytes = 0;        // of the tables
};

// Writes `data` to `file` and fsync()s it: not atomic by itself; the caller
// writes beside the real file and replaces it (disk::replace_file) once the
// rules validated. False and why.
bool write_saved_rules(const RulesData& data, const std::string& file, std::string& error);

// Reads what write_saved_rules wrote. False and why: missing, truncated, damaged, not ours.
bool read_saved_rules(const std::string& path, RulesData& out, SavedInfo& info, std::string& error);

}  // namespace tandem::rules
