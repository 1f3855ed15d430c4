#include "rules/prompt_wav.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/unit/rules/prompt_files.h"

namespace tandem::rules {
namespace {

using testing::Wav;

std::string refused(const std::string& file) {
  PromptInfo info;
  std::string error;
  EXPECT_FALSE(parse_prompt_wav(file, info, error));
  EXPECT_FALSE(error.empty());
  return error;
}

PromptInfo accepted(const std::string& file) {
  PromptInfo info;
  std::string error;
  EXPECT_TRUE(parse_prompt_wav(file, info, error)) << error;
  return info;
}

TEST(PromptWav, EightKilohertzMonoPcmAndG711AreTaken) {
  PromptInfo p = accepted(Wav{}.bytes());  // 16-bit PCM, 1 s
  EXPECT_EQ(p.encoding, PromptEncoding::pcm16);
  EXPECT_EQ(p.duration_ms, 1000u);
  EXPECT_EQ(p.data_offset, 44u);
  EXPECT_EQ(p.data_bytes, 16000u);
  EXPECT_EQ(describe(p), "16-bit PCM, 8000 Hz mono, 1.00 s");

  p = accepted(Wav{.format = 7, .bits = 8, .samples = 4200}.bytes());
  EXPECT_EQ(p.encoding, PromptEncoding::mulaw);
  EXPECT_EQ(p.duration_ms, 525u);
  p = accepted(Wav{.format = 6, .bits = 8}.bytes());
  EXPECT_EQ(p.encoding, PromptEncoding::alaw);
  // sox writes G.711 with an 18-byte fmt chunk and a fact chunk.
  p = accepted(Wav{.format = 7, .bits = 8, .fmt_extra = 2, .fact = true}.bytes());
  EXPECT_EQ(p.encoding, PromptEncoding::mulaw);
  // WAVE_FORMAT_EXTENSIBLE: the sub-format decides.
  p = accepted(Wav{.format = 0xfffe, .sub_format = 6, .bits = 8}.bytes());
  EXPECT_EQ(p.encoding, PromptEncoding::alaw);
}

TEST(PromptWav, OtherChunksAreSkippedWithTheirPadding) {
  // An odd-sized LIST chunk before fmt, padded to even as RIFF wants.
  const PromptInfo p = accepted(Wav{.list_bytes = 7}.bytes());
  EXPECT_EQ(p.data_offset, 44u + 8 + 8);
  EXPECT_EQ(p.duration_ms, 1000u);
}

TEST(PromptWav, WrongFormatsAreNamed) {
  EXPECT_EQ(refused(Wav{.rate = 44100}.bytes()), "sample rate 44100 Hz, expected 8000");
  EXPECT_EQ(refused(Wav{.channels = 2}.bytes()), "2 channels, expected mono");
  EXPECT_EQ(refused(Wav{.bits = 8}.bytes()), "8-bit PCM, expected 16-bit PCM or 8-bit G.711");
  EXPECT_EQ(refused(Wav{.bits = 24}.bytes()), "24-bit PCM, expected 16-bit PCM or 8-bit G.711");
  EXPECT_EQ(refused(Wav{.format = 7, .bits = 16}.bytes()), "16-bit mu-law, expected 16-bit PCM or 8-bit G.711");
  EXPECT_EQ(refused(Wav{.format = 3, .bits = 32}.bytes()),
            "encoding IEEE float, expected 16-bit PCM or G.711 (A-law, mu-law)");
  EXPECT_EQ(refused(Wav{.format = 0x55}.bytes()), "encoding MP3, expected 16-bit PCM or G.711 (A-law, mu-law)");
  // Everything wrong at once is said at once.
  EXPECT_EQ(refused(Wav{.channels = 2, .rate = 48000}.bytes()),
            "sample rate 48000 Hz, expected 8000; 2 channels, expected mono");
  EXPECT_EQ(refused(Wav{.byte_rate = 8000}.bytes()), "byte rate 8000, expected 16000");
  EXPECT_EQ(refused(Wav{.block_align = 4}.bytes()), "block align 4, expected 2 for mono");
}

TEST(PromptWav, MalformedFilesAreRefused) {
  EXPECT_EQ(refused(""), "not a WAV file (no RIFF/WAVE header)");
  EXPECT_EQ(refused("ID3\x03 this is an mp3"), "not a WAV file (no RIFF/WAVE header)");
  std::string riff = Wav{}.bytes();
  riff.replace(8, 4, "AVI ");
  EXPECT_EQ(refused(riff), "not a WAV file (no RIFF/WAVE header)");
  EXPECT_EQ(refused(Wav{.no_fmt = true}.bytes()), "its data chunk comes before any fmt chunk");
  EXPECT_EQ(refused(Wav{.samples = 0}.bytes()), "no audio (its data chunk is empty)");
  EXPECT_EQ(refused(Wav{.odd_data = true}.bytes()), "its data chunk of 16001 bytes is not whole 2-byte samples");
  EXPECT_EQ(refused(Wav{.fmt_bytes = 14}.bytes()), "its fmt chunk has 14 bytes, at least 16 expected");
  EXPECT_EQ(refused(Wav{.format = 0xfffe, .sub_format = 1, .fmt_bytes = 18}.bytes()),
            "its fmt chunk is WAVE_FORMAT_EXTENSIBLE but has 18 bytes, 40 expected");
  // The header alone, no chunk after it.
  std::string header = Wav{}.bytes().substr(0, 12);
  header[4] = 4, header[5] = header[6] = header[7] = 0;
  EXPECT_EQ(refused(header), "no fmt chunk");
  std::string no_data = Wav{}.bytes().substr(0, 36);
  no_data[4] = 28, no_data[5] = no_data[6] = no_data[7] = 0;
  EXPECT_EQ(refused(no_data), "no data chunk");
  // A data chunk that says more than the RIFF holds.
  std::string long_data = Wav{}.bytes();
  long_data[41] = 0x7f;
  EXPECT_NE(refused(long_data).find("cut short: its \"data\" chunk says"), std::string::npos);
  // Longer than the attendant keeps: 10 minutes and a second of mu-law.
  EXPECT_EQ(refused(Wav{.format = 7, .bits = 8, .samples = 8000 * 601}.bytes()), "longer than 600 s (601 s)");
}

TEST(PromptWav, EveryTruncationIsRefusedWithoutReadingPastTheEnd) {
  for (const std::string& good : {Wav{.samples = 40}.bytes(), Wav{.format = 7, .bits = 8, .samples = 40,
                                                                   .fmt_extra = 2, .fact = true, .list_bytes = 3}
                                                                  .bytes()}) {
    for (size_t n = 0; n < good.size(); ++n) {
      // A copy of exactly n bytes on the heap, so that the sanitizers see a read past it.
      const std::string cut(good.data(), n);
      PromptInfo info;
      std::string error;
      EXPECT_FALSE(parse_prompt_wav(cut, info, error)) << n << " bytes";
      EXPECT_FALSE(error.empty());
    }
    EXPECT_NE(refused(good.substr(0, good.size() - 1)).find("cut short: its RIFF header says"), std::string::npos);
  }
}

TEST(PromptWav, FilesAreReadByAbsolutePath) {
  const testing::PromptDir dir;
  const std::string good = dir.write("good.wav", Wav{.format = 7, .bits = 8}.bytes());
  PromptInfo info;
  std::string error;
  EXPECT_TRUE(check_prompt_file(good, info, error)) << error;
  EXPECT_EQ(info.encoding, PromptEncoding::mulaw);

  EXPECT_FALSE(check_prompt_file("good.wav", info, error));
  EXPECT_EQ(error, "good.wav: not an absolute path (every call server reads the prompt at the same path)");
  EXPECT_FALSE(check_prompt_file(dir.path() + "/missing.wav", info, error));
  EXPECT_EQ(error, dir.path() + "/missing.wav: No such file or directory");
  EXPECT_FALSE(check_prompt_file(dir.path(), info, error));
  EXPECT_EQ(error, dir.path() + ": not a regular file");
  const std::string hifi = dir.write("hifi.wav", Wav{.rate = 44100}.bytes());
  EXPECT_FALSE(check_prompt_file(hifi, info, error));
  EXPECT_EQ(error, hifi + ": sample rate 44100 Hz, expected 8000");
}

}  // namespace
}  // namespace tandem::rules
