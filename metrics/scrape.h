// The other end of exposition.h: a process's /metrics read over HTTP and parsed
// (the Prometheus text format, 0.0.4), for tandemctl's views across machines
// (`tandemctl dc status` asks each SBC what it knows of its servers).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::metrics {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of an exposition text; a line that is not a comment, a blank or a
// sample is an error (its number and why), and nothing is returned.
bool parse_exposition(std::string_view text, std::vector<Sample>& out, std::string& error);

// GET http://ADDRESS:PORT/metrics within timeout_ms, parsed.
bool scrape(const std::string& host_port, int timeout_ms, std::vector<Sample>& out, std::string& error);

}  // namespace tandem::metrics
