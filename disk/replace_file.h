// Files that a crash leaves whole: the old content or the new, never a mix.
// The new content is written and fsync()ed beside the file (`tmp`), then
// renamed over it and the directory fsync()ed, so the rename itself survives
// a power cut. Used by the CDR id sequence and the saved rules.
#pragma once

#include <string>
#include <string_view>

namespace tandem::disk {

// `tmp` (written and fsync()ed by the caller) becomes `path`. False and why
// (errno's text, naming the file) when the rename fails; `tmp` is removed then.
bool replace_file(const std::string& tmp, const std::string& path, std::string& error);

// `content` written to `path` that way, through `path` + ".tmp".
bool write_file(const std::string& path, std::string_view content, std::string& error);

}  // namespace tandem::disk
