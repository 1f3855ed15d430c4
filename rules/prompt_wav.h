// A menu's prompt: a WAV file the attendant can send as it is, checked when
// the menu is saved so that a wrong file is refused then, with what is wrong,
// instead of a caller hearing silence.
//
// Accepted: 8,000 Hz, mono, and 16-bit linear PCM or G.711 (A-law, mu-law;
// 8 bits). RIFF chunks other than "fmt " and "data" (LIST, fact, cue...) are
// skipped; WAVE_FORMAT_EXTENSIBLE is read through its sub-format. Everything
// is bounds-checked: a file cut short, a chunk running past the end, a data
// chunk that is not whole samples are refused, never read past.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::rules {

enum class PromptEncoding : uint8_t { pcm16, alaw, mulaw };
std::string_view name(PromptEncoding e);  // "16-bit PCM", "G.711 A-law", "G.711 mu-law"

struct PromptInfo {
  PromptEncoding encoding = PromptEncoding::pcm16;
  uint64_t data_offset = 0;  // of the samples, in the file
  uint64_t data_bytes = 0;
  uint32_t duration_ms = 0;
};

// A prompt's longest: the attendant keeps every prompt decoded in memory.
inline constexpr uint32_t kMaxPromptSeconds = 600;

// The bytes of a WAV file. False with why ("sample rate 44100 Hz, expected 8000").
bool parse_prompt_wav(std::string_view file, PromptInfo& out, std::string& error);

// A prompt file as read: its bytes, what they hold, and what identifies this
// version of the file (the attendant's prompt cache re-reads it when either changes).
struct PromptFile {
  PromptInfo info;
  std::string bytes;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
};

// The file at `path` (absolute, as every call server must find it at the
// same place), read and parsed. False with "PATH: why".
bool read_prompt_file(const std::string& path, PromptFile& out, std::string& error);
// The file's mtime and size now, as read_prompt_file records them; false if it cannot be stat()ed.
bool stat_prompt_file(const std::string& path, int64_t& mtime_ns, uint64_t& size);
// The same, keeping only what the file holds.
bool check_prompt_file(const std::string& path, PromptInfo& out, std::string& error);

// "G.711 mu-law, 8000 Hz mono, 4.25 s"
std::string describe(const PromptInfo& p);

}  // namespace tandem::rules
