#include "metrics/scrape.h"

#include <httplib.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "metrics/exposition.h"

namespace tandem::metrics {

namespace {

// `{a="x",b="y\"z"}` from s[pos] ('{'); pos ends past '}'.
bool parse_labels(std::string_view s, size_t& pos, std::map<std::string, std::string>& labels, std::string& why) {
  ++pos;
  while (pos < s.size() && s[pos] != '}') {
    const size_t eq = s.find('=', pos);
    if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') {
      why = "label without =\"value\"";
      return false;
    }
    std::string name(s.substr(pos, eq - pos)), value;
    size_t i = eq + 2;
    for (; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        ++i;
        value += s[i] == 'n' ? '\n' : s[i];
      } else {
        value += s[i];
      }
    }
    if (i >= s.size()) {
      why = "unterminated label value";
      return false;
    }
    labels[name] = value;
    pos = i + 1;
    if (pos < s.size() && s[pos] == ',') {
      ++pos;
    } else if (pos < s.size() && s[pos] != '}') {
      why = "no , or } after a label";
      return false;
    }
  }
  if (pos >= s.size()) {
    why = "unterminated label set";
    return false;
  }
  ++pos;
  return true;
}

bool parse_value(std::string_view text, double& v) {
  const std::string t(text);
  if (t == "+Inf") v = HUGE_VAL;
  else if (t == "-Inf") v = -HUGE_VAL;
  else if (t == "NaN") v = NAN;
  else {
    char* end = nullptr;
    errno = 0;
    v = std::strtod(t.c_str(), &end);
    return !t.empty() && end == t.c_str() + t.size() && errno == 0;
  }
  return true;
}

}  // namespace

bool parse_exposition(std::string_view text, std::vector<Sample>& out, std::string& error) {
  std::vector<Sample> samples;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t pos = line.find_first_of("{ ");
    if (pos == 0 || pos == std::string_view::npos) {
      error = "line " + std::to_string(line_no) + ": not a sample";
      return false;
    }
    s.name = std::string(line.substr(0, pos));
    std::string why;
    if (line[pos] == '{' && !parse_labels(line, pos, s.labels, why)) {
      error = "line " + std::to_string(line_no) + ": " + why;
      return false;
    }
    const size_t start = line.find_first_not_of(' ', pos);
    const size_t end = start == std::string_view::npos ? start : line.find(' ', start);  // a timestamp may follow
    if (start == std::string_view::npos || !parse_value(line.substr(start, end - start), s.value)) {
      error = "line " + std::to_string(line_no) + ": no value";
      return false;
    }
    samples.push_back(std::move(s));
  }
  out = std::move(samples);
  return true;
}

bool scrape(const std::string& host_port, int timeout_ms, std::vector<Sample>& out, std::string& error) {
  std::string address;
  uint16_t port = 0;
  if (!parse_listen(host_port, address, port)) {
    error = "not IPV4:PORT: " + host_port;
    return false;
  }
  httplib::Client client(address, port);
  client.set_connection_timeout(std::chrono::milliseconds(timeout_ms));
  client.set_read_timeout(std::chrono::milliseconds(timeout_ms));
  const auto res = client.Get("/metrics");
  if (!res) {
    const httplib::Error e = res.error();
    error = host_port + ": " + (e == httplib::Error::Connection ? std::string("cannot connect")
                                : e == httplib::Error::Read     ? std::string("no answer")
                                                                : httplib::to_string(e));
    return false;
  }
  if (res->status != 200) {
    error = host_port + ": HTTP " + std::to_string(res->status);
    return false;
  }
  if (!parse_exposition(res->body, out, error)) {
    error = host_port + ": " + error;
    return false;
  }
  return true;
}

}  // namespace tandem::metrics
