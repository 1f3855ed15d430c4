// Prompts decoded once into both laws' 20 ms frames, and the cache that
// shares them and notices an edited, removed or broken file.
#include "attendant/prompt.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "attendant/g711.h"
#include "tests/unit/rules/prompt_files.h"

namespace tandem::attendant {
namespace {

using rules::testing::PromptDir;
using rules::testing::Wav;

constexpr uint32_t kSamples = 2 * kSamplesPerFrame + 81;  // the last frame part silence

int16_t ramp(uint32_t i) { return static_cast<int16_t>(static_cast<int32_t>(i * 97 % 60000) - 30000); }

std::string pcm16_wav() {
  Wav w;
  for (uint32_t i = 0; i < kSamples; ++i) Wav::put16(w.data, static_cast<uint16_t>(ramp(i)));
  return w.bytes();
}

std::string g711_wav(uint16_t format) {
  Wav w;
  w.format = format;
  w.bits = 8;
  for (uint32_t i = 0; i < kSamples; ++i) w.data += static_cast<char>(i * 7);
  return w.bytes();
}

PromptResult load(PromptCache& cache, const std::string& path) {
  PromptResult r = cache.get(path);
  EXPECT_TRUE(r.prompt) << r.error;
  return r;
}

TEST(Prompt, Pcm16IsEncodedIntoBothLawsAndPaddedWithSilence) {
  PromptDir dir;
  PromptCache cache;
  const auto r = load(cache, dir.write("p.wav", pcm16_wav()));
  ASSERT_TRUE(r.prompt);
  const Prompt& p = *r.prompt;
  ASSERT_EQ(p.frames(), 3u);
  for (uint32_t i = 0; i < 3 * kSamplesPerFrame; ++i) {
    const uint32_t f = i / kSamplesPerFrame, at = i % kSamplesPerFrame;
    const bool audio = i < kSamples;
    EXPECT_EQ(p.frame(Codec::pcmu, f)[at], audio ? g711::linear_to_ulaw(ramp(i)) : 0xff) << i;
    EXPECT_EQ(p.frame(Codec::pcma, f)[at], audio ? g711::linear_to_alaw(ramp(i)) : 0xd5) << i;
  }
}

TEST(Prompt, G711FilesAreSentAsTheyAreAndTranscodedForTheOtherLaw) {
  PromptDir dir;
  PromptCache cache;
  const auto mu = load(cache, dir.write("mu.wav", g711_wav(7)));
  const auto a = load(cache, dir.write("a.wav", g711_wav(6)));
  ASSERT_TRUE(mu.prompt && a.prompt);
  for (uint32_t i = 0; i < kSamples; ++i) {
    const auto byte = static_cast<uint8_t>(i * 7);
    const uint32_t f = i / kSamplesPerFrame, at = i % kSamplesPerFrame;
    EXPECT_EQ(mu.prompt->frame(Codec::pcmu, f)[at], byte);
    EXPECT_EQ(mu.prompt->frame(Codec::pcma, f)[at], g711::ulaw_to_alaw(byte));
    EXPECT_EQ(a.prompt->frame(Codec::pcma, f)[at], byte);
    EXPECT_EQ(a.prompt->frame(Codec::pcmu, f)[at], g711::alaw_to_ulaw(byte));
  }
}

TEST(PromptCache, DecodesOnceAndSharesTheResult) {
  PromptDir dir;
  PromptCache cache;
  const std::string path = dir.write("p.wav", pcm16_wav());
  const auto first = load(cache, path);
  const auto second = load(cache, path);
  EXPECT_EQ(first.prompt, second.prompt);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(PromptCache, AnEditedFileIsReadAgainWhileTheOldVersionLivesOn) {
  PromptDir dir;
  PromptCache cache;
  const std::string path = dir.write("p.wav", pcm16_wav());
  const auto old = load(cache, path);
  // Same size, new time: an edit the size alone would miss.
  dir.write("p.wav", g711_wav(7).append(kSamples, '\0'));
  const timespec times[2] = {{0, UTIME_OMIT}, {1'000'000'000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  const auto edited = load(cache, path);
  ASSERT_TRUE(old.prompt && edited.prompt);
  EXPECT_NE(old.prompt, edited.prompt);
  EXPECT_EQ(old.prompt->frames(), 3u);  // whoever still plays it keeps it whole
  EXPECT_EQ(cache.size(), 1u);
}

TEST(PromptCache, MissingOrBrokenFilesAreAnErrorNamingThePath) {
  PromptDir dir;
  PromptCache cache;
  const std::string path = dir.write("p.wav", pcm16_wav());
  load(cache, path);
  std::filesystem::remove(path);
  PromptResult r = cache.get(path);
  EXPECT_FALSE(r.prompt);
  EXPECT_NE(r.error.find(path), std::string::npos) << r.error;
  EXPECT_EQ(cache.size(), 0u);  // not served from memory once the file is gone

  Wav hifi;
  hifi.rate = 44100;
  r = cache.get(dir.write("hifi.wav", hifi.bytes()));
  EXPECT_FALSE(r.prompt);
  EXPECT_NE(r.error.find("sample rate 44100"), std::string::npos) << r.error;

  r = cache.get("relative.wav");
  EXPECT_FALSE(r.prompt);
  EXPECT_NE(r.error.find("absolute"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace tandem::attendant
