// WAV files for the prompt and menu tests: the builder of tests/support/wav_file.h,
// and a temporary directory to write them to.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/wav_file.h"

namespace tandem::rules::testing {

using tandem::testing::Wav;

// A directory under /tmp, removed with everything in it.
class PromptDir {
 public:
  PromptDir() {
    char tmpl[] = "/tmp/tandem-prompts-XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    path_ = tmpl;
  }
  ~PromptDir() { std::filesystem::remove_all(path_); }
  PromptDir(const PromptDir&) = delete;
  PromptDir& operator=(const PromptDir&) = delete;

  const std::string& path() const { return path_; }
  // The file's absolute path.
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

 private:
  std::string path_;
};

}  // namespace tandem::rules::testing
