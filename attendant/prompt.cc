#include "attendant/prompt.h"

#include "attendant/g711.h"

namespace tandem::attendant {

namespace {

// The silence of each law: the code of linear 0.
const uint8_t kUlawSilence = g711::linear_to_ulaw(0);
const uint8_t kAlawSilence = g711::linear_to_alaw(0);

}  // namespace

Prompt::Prompt(std::string path, std::string_view wav, const rules::PromptInfo& info) : path_(std::move(path)) {
  const std::string_view data = wav.substr(info.data_offset, info.data_bytes);
  const size_t samples = info.encoding == rules::PromptEncoding::pcm16 ? data.size() / 2 : data.size();
  frames_ = static_cast<uint32_t>((samples + kSamplesPerFrame - 1) / kSamplesPerFrame);
  pcmu_.assign(size_t{frames_} * kSamplesPerFrame, kUlawSilence);
  pcma_.assign(size_t{frames_} * kSamplesPerFrame, kAlawSilence);
  for (size_t i = 0; i < samples; ++i) {
    const auto byte = static_cast<uint8_t>(data[i]);
    switch (info.encoding) {
      case rules::PromptEncoding::pcm16: {
        const auto s = static_cast<int16_t>(static_cast<uint8_t>(data[2 * i]) |
                                            static_cast<uint8_t>(data[2 * i + 1]) << 8);  // WAV is little-endian
        pcmu_[i] = g711::linear_to_ulaw(s);
        pcma_[i] = g711::linear_to_alaw(s);
        break;
      }
      case rules::PromptEncoding::mulaw:
        pcmu_[i] = byte;
        pcma_[i] = g711::ulaw_to_alaw(byte);
        break;
      case rules::PromptEncoding::alaw:
        pcma_[i] = byte;
        pcmu_[i] = g711::alaw_to_ulaw(byte);
        break;
    }
  }
}

std::span<const uint8_t> Prompt::frame(Codec codec, uint32_t i) const {
  const auto& law = codec == Codec::pcmu ? pcmu_ : pcma_;
  return {law.data() + size_t{i} * kSamplesPerFrame, kSamplesPerFrame};
}

PromptResult PromptCache::get(const std::string& path) {
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  if (rules::stat_prompt_file(path, mtime_ns, size)) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(path);
    if (it != entries_.end() && it->second.mtime_ns == mtime_ns && it->second.size == size) {
      return {it->second.prompt, {}};
    }
  }
  // Read and decode outside the lock: other callers' prompts stay served meanwhile.
  rules::PromptFile file;
  PromptResult r;
  if (!rules::read_prompt_file(path, file, r.error)) {
    // Gone or broken: forget the old version too, so that every caller gets the error.
    std::lock_guard lock(mutex_);
    entries_.erase(path);
    return r;
  }
  r.prompt = std::make_shared<const Prompt>(path, file.bytes, file.info);
  std::lock_guard lock(mutex_);
  entries_[path] = Entry{file.mtime_ns, file.size, r.prompt};
  return r;
}

size_t PromptCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace tandem::attendant
