// The spool's on-disk formats, as spool.h draws them: an entry's framing and
// the checkpoint line. Shared by the append and read path (spool.cc), the
// recovery on open (spool_open.cc) and the open calls' files (open_calls.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cdr/spool.h"

namespace tandem::cdr::spool_format {

// Appends one entry, header then payload, to `out`.
void append_entry(std::string& out, std::string_view payload);

enum class Frame { ok, incomplete, bad };

// Checks the entry at buf[0..]: ok with its total size, incomplete (needs
// more bytes than buf holds), or bad (wrong magic, length or checksum).
Frame check_entry(std::string_view buf, size_t& size);

// The first offset > 0 in buf where a whole valid entry starts; npos if none.
size_t resync(std::string_view buf);

std::string checkpoint_text(SpoolPosition pos);
bool parse_checkpoint(const std::string& text, SpoolPosition& pos);

}  // namespace tandem::cdr::spool_format
