#include "rules/prompt_wav.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

namespace tandem::rules {

namespace {

constexpr uint32_t kRate = 8000;
constexpr uint16_t kFormatPcm = 1, kFormatAlaw = 6, kFormatMulaw = 7, kFormatExtensible = 0xfffe;
// The largest prompt file: kMaxPromptSeconds of 16-bit samples and room for other chunks.
constexpr uint64_t kMaxFileBytes = uint64_t{kMaxPromptSeconds} * kRate * 2 + (1u << 20);

uint16_t u16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8);
}
uint32_t u32(std::string_view b, size_t at) { return u16(b, at) | static_cast<uint32_t>(u16(b, at + 2)) << 16; }

std::string format_name(uint16_t tag) {
  switch (tag) {
    case kFormatPcm:
      return "PCM";
    case 3:
      return "IEEE float";
    case kFormatAlaw:
      return "A-law";
    case kFormatMulaw:
      return "mu-law";
    case 2:
      return "MS ADPCM";
    case 0x11:
      return "IMA ADPCM";
    case 0x55:
      return "MP3";
    default:
      return "format " + std::to_string(tag);
  }
}

struct Fmt {
  uint16_t tag = 0, channels = 0, block_align = 0, bits = 0;
  uint32_t rate = 0, byte_rate = 0;
};

bool read_fmt(std::string_view body, Fmt& f, std::string& error) {
  if (body.size() < 16) {
    error = "its fmt chunk has " + std::to_string(body.size()) + " bytes, at least 16 expected";
    return false;
  }
  f.tag = u16(body, 0);
  f.channels = u16(body, 2);
  f.rate = u32(body, 4);
  f.byte_rate = u32(body, 8);
  f.block_align = u16(body, 12);
  f.bits = u16(body, 14);
  if (f.tag == kFormatExtensible) {
    // cbSize, valid bits, channel mask, then the sub-format GUID: its first two bytes are the format.
    if (body.size() < 40) {
      error = "its fmt chunk is WAVE_FORMAT_EXTENSIBLE but has " + std::to_string(body.size()) +
              " bytes, 40 expected";
      return false;
    }
    f.tag = u16(body, 24);
  }
  return true;
}

// What is wrong with the format, all of it at once; empty if it is one we take.
std::string format_problems(const Fmt& f, PromptEncoding& enc) {
  std::string why;
  auto add = [&](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  if (f.tag == kFormatPcm && f.bits == 16) {
    enc = PromptEncoding::pcm16;
  } else if ((f.tag == kFormatAlaw || f.tag == kFormatMulaw) && f.bits == 8) {
    enc = f.tag == kFormatAlaw ? PromptEncoding::alaw : PromptEncoding::mulaw;
  } else if (f.tag == kFormatPcm || f.tag == kFormatAlaw || f.tag == kFormatMulaw) {
    add(std::to_string(f.bits) + "-bit " + format_name(f.tag) + ", expected 16-bit PCM or 8-bit G.711");
  } else {
    add("encoding " + format_name(f.tag) + ", expected 16-bit PCM or G.711 (A-law, mu-law)");
  }
  if (f.rate != kRate) add("sample rate " + std::to_string(f.rate) + " Hz, expected 8000");
  if (f.channels != 1) add(std::to_string(f.channels) + " channels, expected mono");
  if (!why.empty()) return why;
  const uint32_t align = f.bits / 8;
  if (f.block_align != align) {
    add("block align " + std::to_string(f.block_align) + ", expected " + std::to_string(align) + " for mono");
  }
  if (f.byte_rate != kRate * align) {
    add("byte rate " + std::to_string(f.byte_rate) + ", expected " + std::to_string(kRate * align));
  }
  return why;
}

int64_t mtime_ns(const struct stat& st) { return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec; }

}  // namespace

std::string_view name(PromptEncoding e) {
  switch (e) {
    case PromptEncoding::pcm16:
      return "16-bit PCM";
    case PromptEncoding::alaw:
      return "G.711 A-law";
    case PromptEncoding::mulaw:
      return "G.711 mu-law";
  }
  return "";
}

bool parse_prompt_wav(std::string_view file, PromptInfo& out, std::string& error) {
  if (file.size() < 12 || file.substr(0, 4) != "RIFF" || file.substr(8, 4) != "WAVE") {
    error = "not a WAV file (no RIFF/WAVE header)";
    return false;
  }
  const uint64_t riff_end = uint64_t{u32(file, 4)} + 8;
  if (riff_end > file.size()) {
    error = "cut short: its RIFF header says " + std::to_string(riff_end) + " bytes, the file has " +
            std::to_string(file.size());
    return false;
  }
  std::optional<Fmt> fmt;
  size_t at = 12;
  while (at + 8 <= riff_end) {
    const std::string_view id = file.substr(at, 4);
    const uint64_t size = u32(file, at + 4);
    const uint64_t body = at + 8;
    if (body + size > riff_end) {
      error = "cut short: its \"" + std::string(id) + "\" chunk says " + std::to_string(size) + " bytes, " +
              std::to_string(riff_end - body) + " are there";
      return false;
    }
    if (id == "fmt ") {
      fmt.emplace();
      if (!read_fmt(file.substr(body, size), *fmt, error)) return false;
      if (std::string why = format_problems(*fmt, out.encoding); !why.empty()) {
        error = why;
        return false;
      }
    } else if (id == "data") {
      if (!fmt) {
        error = "its data chunk comes before any fmt chunk";
        return false;
      }
      if (size == 0) {
        error = "no audio (its data chunk is empty)";
        return false;
      }
      if (size % fmt->block_align != 0) {
        error = "its data chunk of " + std::to_string(size) + " bytes is not whole " +
                std::to_string(fmt->block_align) + "-byte samples";
        return false;
      }
      const uint64_t ms = size / fmt->block_align * 1000 / kRate;
      if (ms > uint64_t{kMaxPromptSeconds} * 1000) {
        error = "longer than " + std::to_string(kMaxPromptSeconds) + " s (" + std::to_string(ms / 1000) + " s)";
        return false;
      }
      out.data_offset = body;
      out.data_bytes = size;
      out.duration_ms = static_cast<uint32_t>(ms);
      return true;
    }
    at = static_cast<size_t>(body + size + (size & 1));  // chunks are padded to even sizes
  }
  error = fmt ? "no data chunk" : "no fmt chunk";
  return false;
}

bool read_prompt_file(const std::string& path, PromptFile& out, std::string& error) {
  const auto refuse = [&](const std::string& why) {
    error = path + ": " + why;
    return false;
  };
  if (path.empty() || path[0] != '/') {
    return refuse("not an absolute path (every call server reads the prompt at the same path)");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return refuse(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return refuse("not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    return refuse(std::to_string(st.st_size) + " bytes, more than " + std::to_string(kMaxPromptSeconds) +
                  " s of audio can take");
  }
  std::ifstream f(path, std::ios::binary);
  out.bytes.assign(static_cast<size_t>(st.st_size), '\0');
  if (!f || !f.read(out.bytes.data(), static_cast<std::streamsize>(out.bytes.size()))) {
    return refuse(errno ? std::strerror(errno) : "cannot be read");
  }
  out.mtime_ns = mtime_ns(st);
  out.size = static_cast<uint64_t>(st.st_size);
  std::string why;
  if (!parse_prompt_wav(out.bytes, out.info, why)) return refuse(why);
  return true;
}

bool stat_prompt_file(const std::string& path, int64_t& mtime, uint64_t& size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  mtime = mtime_ns(st);
  size = static_cast<uint64_t>(st.st_size);
  return true;
}

bool check_prompt_file(const std::string& path, PromptInfo& out, std::string& error) {
  PromptFile file;
  if (!read_prompt_file(path, file, error)) return false;
  out = file.info;
  return true;
}

std::string describe(const PromptInfo& p) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%u.%02u s", p.duration_ms / 1000, p.duration_ms % 1000 / 10);
  return std::string(name(p.encoding)) + ", 8000 Hz mono, " + secs;
}

}  // namespace tandem::rules
