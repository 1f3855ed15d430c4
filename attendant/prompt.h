// A menu's prompt as the attendant sends it: decoded once into 20 ms G.711
// frames for both laws (the caller negotiates PCMU or PCMA), immutable, and
// shared by every caller who hears it through a cache keyed by the file's
// path, modification time and size (an edited file is read again; callers in
// the middle of the old version keep it until they are done).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "rules/prompt_wav.h"

namespace tandem::attendant {

// The RTP payload types of the two laws (RFC 3551's static assignments).
enum class Codec : uint8_t { pcmu = 0, pcma = 8 };

inline constexpr uint32_t kSamplesPerFrame = 160;  // 20 ms at 8 kHz: the RTP timestamp's step
inline constexpr uint32_t kFrameMs = 20;

class Prompt {
 public:
  // The samples of a WAV file whose format `info` describes (rules::parse_prompt_wav).
  // The last frame is filled up with silence.
  Prompt(std::string path, std::string_view wav, const rules::PromptInfo& info);

  const std::string& path() const { return path_; }
  uint32_t frames() const { return frames_; }
  // Frame i (< frames()) in the law of `codec`: kSamplesPerFrame bytes.
  std::span<const uint8_t> frame(Codec codec, uint32_t i) const;

 private:
  std::string path_;
  uint32_t frames_ = 0;
  std::basic_string<uint8_t> pcmu_;
  std::basic_string<uint8_t> pcma_;
};

struct PromptResult {
  std::shared_ptr<const Prompt> prompt;  // null on error
  std::string error;                     // "PATH: why", for the call server's log line
};

// Thread-safe; get() is called at call setup (one stat() when the prompt is
// cached), never on the media thread.
class PromptCache {
 public:
  PromptResult get(const std::string& path);
  size_t size() const;

 private:
  struct Entry {
    int64_t mtime_ns = 0;
    uint64_t size = 0;
    std::shared_ptr<const Prompt> prompt;
  };
  mutable std::mutex mutex_;
  // One entry per prompt path the menus name: as many as the rules hold, no eviction needed.
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace tandem::attendant
